// A shell in the UI: an xterm.js view bound to a host terminal (terminals.* in the protocol).
// Reusable: target 'local' is a shell on the computer running the host, { node } a shell on a
// node over SSH. The component opens the shell on mount and closes it on unmount.
import { useEffect, useRef, useState } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import './terminal.css';
import { host, hostLink } from '../../host';
import { followTheme, xtermFont, xtermTheme } from './theme';

export type TerminalTarget = 'local' | { node: string };

export interface TerminalViewProps {
  target: TerminalTarget;
  /** False while the tab is hidden: a hidden terminal has no size to fit to. */
  active?: boolean;
  /** The host's title for the shell ("This computer", the node's name…). */
  onTitle?: (title: string) => void;
  /** The shell ended (code null: by a signal, or the host lost it). */
  onExit?: (code: number | null) => void;
  /** Accessible name of the terminal region. */
  label?: string;
  autoFocus?: boolean;
}

/** Acknowledge rendered output in batches: one ack per keystroke echo would double the traffic. */
const ACK_BATCH = 8 * 1024;
const ACK_DELAY_MS = 30;
/** The protocol caps one input message; a large paste goes in pieces, in order. */
const INPUT_CHUNK = 32 * 1024;

export function TerminalView({ target, active = true, onTitle, onExit, label, autoFocus = true }: TerminalViewProps) {
  const box = useRef<HTMLDivElement>(null);
  const termRef = useRef<Terminal | null>(null);
  const fitRef = useRef<FitAddon | null>(null);
  const [state, setState] = useState<'opening' | 'open' | 'exited' | 'failed'>('opening');
  const [error, setError] = useState<string | null>(null);
  // Callbacks change identity on every parent render; the effect below must not re-run for that.
  const cb = useRef({ onTitle, onExit });
  cb.current = { onTitle, onExit };
  const targetKey = target === 'local' ? 'local' : `node:${target.node}`;

  useEffect(() => {
    const el = box.current!;
    const term = new Terminal({
      fontFamily: xtermFont(),
      fontSize: 13,
      lineHeight: 1.15,
      cursorBlink: true,
      scrollback: 10_000,
      theme: xtermTheme(),
      allowProposedApi: false,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);
    termRef.current = term;
    fitRef.current = fit;
    const stopTheme = followTheme(term);
    safeFit(fit);

    let disposed = false;
    let id: string | null = null;
    let unsubscribe: (() => void) | null = null;
    let ackPending = 0;
    let ackTimer: ReturnType<typeof setTimeout> | null = null;
    let exited = false;

    const sendAck = () => {
      if (ackTimer) clearTimeout(ackTimer);
      ackTimer = null;
      if (!id || ackPending === 0) return;
      const bytes = ackPending;
      ackPending = 0;
      host.request('terminals.ack', { id, bytes }).catch(() => {});
    };
    const rendered = (units: number) => {
      ackPending += units;
      if (ackPending >= ACK_BATCH) sendAck();
      else ackTimer ??= setTimeout(sendAck, ACK_DELAY_MS);
    };

    const attach = () => {
      if (!id || disposed || exited) return;
      unsubscribe?.();
      unsubscribe = host.subscribe(
        'terminals.output',
        { id },
        (e) => {
          if (e.type === 'data') {
            // Ack only once xterm has parsed the chunk: that is what keeps a flood from
            // piling up in the page faster than it can paint.
            const n = e.data.length;
            term.write(e.data, () => rendered(n));
          } else {
            exited = true;
            term.write(`\r\n\x1b[2m[process exited${e.code === null ? '' : ` with code ${e.code}`}]\x1b[0m\r\n`);
            setState('exited');
            cb.current.onExit?.(e.code);
          }
        },
        (err) => {
          unsubscribe = null;
          // A dropped link ends every stream; the reconnect below re-attaches. Anything else
          // (the host restarted and no longer has this shell) ends the terminal.
          if (err && !/disconnected/i.test(err.message) && !disposed && !exited) {
            exited = true;
            term.write(`\r\n\x1b[2m[${err.message}]\x1b[0m\r\n`);
            setState('exited');
            cb.current.onExit?.(null);
          }
        },
      );
    };

    const stopLink = hostLink.onState((s) => {
      if (s === 'connected' && id && !unsubscribe) attach();
    });

    host
      .request('terminals.open', { target, cols: Math.max(2, term.cols), rows: Math.max(1, term.rows) })
      .then(
        (t) => {
          if (disposed) {
            host.request('terminals.close', { id: t.id }).catch(() => {});
            return;
          }
          id = t.id;
          setState('open');
          cb.current.onTitle?.(t.title);
          attach();
          // The shell may have been opened at a stale size if the box changed meanwhile.
          if (safeFit(fit)) host.request('terminals.resize', { id, cols: term.cols, rows: term.rows }).catch(() => {});
          if (autoFocus) term.focus();
        },
        (e: Error) => {
          if (disposed) return;
          setState('failed');
          setError(e.message);
          term.write(`\x1b[31m${e.message}\x1b[0m\r\n`);
        },
      );

    const onData = term.onData((data) => {
      if (!id || exited) return;
      for (let i = 0; i < data.length; i += INPUT_CHUNK) {
        host.request('terminals.input', { id, data: data.slice(i, i + INPUT_CHUNK) }).catch(() => {});
      }
    });
    let resizeTimer: ReturnType<typeof setTimeout> | null = null;
    const onResize = term.onResize(({ cols, rows }) => {
      // Dragging a splitter fires many sizes; the shell only needs the last.
      if (resizeTimer) clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        if (id && !exited) host.request('terminals.resize', { id, cols, rows }).catch(() => {});
      }, 60);
    });
    const ro = new ResizeObserver(() => safeFit(fit));
    ro.observe(el);

    return () => {
      disposed = true;
      ro.disconnect();
      onData.dispose();
      onResize.dispose();
      stopLink();
      stopTheme();
      if (ackTimer) clearTimeout(ackTimer);
      if (resizeTimer) clearTimeout(resizeTimer);
      unsubscribe?.();
      if (id) host.request('terminals.close', { id }).catch(() => {});
      term.dispose();
      termRef.current = null;
      fitRef.current = null;
    };
    // The terminal is bound to its target for life; a new target is a new shell.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [targetKey]);

  // A tab brought back to front: fit to its (now real) size and take the keyboard.
  useEffect(() => {
    if (!active || !fitRef.current) return;
    safeFit(fitRef.current);
    if (autoFocus) termRef.current?.focus();
  }, [active, autoFocus]);

  return (
    <div className="terminal-view" data-state={state} data-testid="terminal">
      <div ref={box} className="terminal-box" role="region" aria-label={label ?? (target === 'local' ? 'Terminal on this computer' : `Terminal on ${target.node}`)} />
      {state === 'failed' && error ? (
        <p className="terminal-error" role="alert">
          Could not open the shell: {error}
        </p>
      ) : null}
    </div>
  );
}

/** Fits unless the box is hidden (0×0 would make a 1-column terminal). Returns whether it fitted. */
function safeFit(fit: FitAddon): boolean {
  const dims = fit.proposeDimensions();
  if (!dims || !Number.isFinite(dims.cols) || !Number.isFinite(dims.rows) || dims.cols < 2 || dims.rows < 1) return false;
  fit.fit();
  return true;
}
