// xterm.js paints on its own, so it cannot use CSS variables directly: read the app's colours
// when a terminal is created and again whenever the theme flips.
import type { ITheme, Terminal } from '@xterm/xterm';

const css = (name: string, fallback: string) =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

export function xtermTheme(): ITheme {
  const dark = document.documentElement.dataset.theme === 'dark';
  return {
    background: css('--term-bg', dark ? '#111317' : '#fbfbfc'),
    foreground: css('--term-fg', dark ? '#e6e8ec' : '#1b1d21'),
    cursor: css('--accent', '#3b5bdb'),
    cursorAccent: css('--term-bg', dark ? '#111317' : '#fbfbfc'),
    selectionBackground: css('--term-selection', dark ? '#3b4a7a' : '#c5d0f5'),
    // Readable ANSI colours on both backgrounds (the defaults assume black).
    ...(dark
      ? {
          black: '#2a2e36',
          brightBlack: '#7a808c',
          white: '#d7dae0',
          brightWhite: '#ffffff',
          blue: '#748ffc',
          cyan: '#66d9e8',
          green: '#69db7c',
          yellow: '#ffd43b',
          magenta: '#da77f2',
          red: '#ff8787',
        }
      : {
          black: '#1b1d21',
          brightBlack: '#60646c',
          white: '#9aa0aa',
          brightWhite: '#60646c',
          blue: '#3b5bdb',
          cyan: '#0c8599',
          green: '#2b8a3e',
          yellow: '#b35c00',
          magenta: '#9c36b5',
          red: '#c92a2a',
        }),
  };
}

export function xtermFont(): string {
  return css('--mono', 'monospace');
}

/** Keeps a terminal's colours in step with the app theme; returns the stop function. */
export function followTheme(term: Terminal): () => void {
  const obs = new MutationObserver(() => {
    term.options.theme = xtermTheme();
  });
  obs.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
  return () => obs.disconnect();
}
