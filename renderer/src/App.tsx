import { useEffect, type ReactElement } from 'react';
import { hostLink } from './host';
import { AREAS, useApp, type Area } from './state/app';
import { StatusBar } from './components/StatusBar';
import { PlanArea } from './areas/plan/PlanArea';
import { NodesArea, PromptHost } from './areas/nodes/NodesArea';
import { RunsArea } from './areas/runs/RunsArea';

const LABELS: Record<Area, string> = { plan: 'Plan', nodes: 'Nodes', runs: 'Runs' };
const VIEWS: Record<Area, () => ReactElement> = {
  plan: PlanArea,
  nodes: NodesArea,
  runs: RunsArea,
};

export function App() {
  const { area, theme, setArea, cycleArea, toggleTheme } = useApp();

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  // Ask the host who it is whenever the link (re)connects: the status bar shows the answer.
  useEffect(
    () =>
      hostLink.onState((state) => {
        useApp.getState().setConnection(state);
        if (state === 'connected') {
          hostLink.client.request('host.info', {}).then(
            (info) => useApp.getState().setHostInfo(info),
            (e: Error) => useApp.getState().setHostInfo(null, e.message),
          );
        }
      }),
    [],
  );

  // Keyboard: Ctrl/Cmd+1..3 opens an area; Ctrl+PageDown/PageUp cycles; Ctrl+Shift+L toggles the theme.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (!mod) return;
      const n = Number(e.key);
      if (n >= 1 && n <= AREAS.length && !e.shiftKey && !e.altKey) {
        e.preventDefault();
        setArea(AREAS[n - 1]);
      } else if (e.key === 'PageDown' || e.key === 'PageUp') {
        e.preventDefault();
        cycleArea(e.key === 'PageDown' ? 1 : -1);
      } else if (e.shiftKey && (e.key === 'L' || e.key === 'l')) {
        e.preventDefault();
        toggleTheme();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [setArea, cycleArea, toggleTheme]);

  const View = VIEWS[area];
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand" aria-label="Spindle">
          <span className="brand-mark">◎</span> Spindle
        </div>
        <nav
          className="areas"
          role="tablist"
          aria-label="Areas"
          onKeyDown={(e) => {
            if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
              e.preventDefault();
              cycleArea(e.key === 'ArrowRight' ? 1 : -1);
              requestAnimationFrame(() =>
                document.querySelector<HTMLElement>('[role=tab][aria-selected=true]')?.focus(),
              );
            }
          }}
        >
          {AREAS.map((a, i) => (
            <button
              key={a}
              role="tab"
              id={`tab-${a}`}
              aria-selected={area === a}
              aria-controls={`area-${a}`}
              tabIndex={area === a ? 0 : -1}
              title={`${LABELS[a]} (Ctrl+${i + 1})`}
              className={area === a ? 'tab active' : 'tab'}
              onClick={() => setArea(a)}
            >
              {LABELS[a]}
            </button>
          ))}
        </nav>
        <button
          className="ghost"
          onClick={toggleTheme}
          title="Toggle theme (Ctrl+Shift+L)"
          aria-label="Toggle theme"
        >
          {theme === 'dark' ? '☀' : '☾'}
        </button>
      </header>
      <main
        className="area"
        role="tabpanel"
        id={`area-${area}`}
        aria-labelledby={`tab-${area}`}
        data-area={area}
      >
        <View />
      </main>
      <StatusBar />
      <PromptHost />
    </div>
  );
}
