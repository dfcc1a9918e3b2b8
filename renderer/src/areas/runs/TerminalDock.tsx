// Terminals under the runs: a shell on this computer or on any node, in tabs, in a panel whose
// height is dragged (or set with the arrow keys on its handle). Shells live on while the user
// switches tabs or areas; closing a tab ends its shell.
import { useEffect, useRef, useState } from 'react';
import { create } from 'zustand';
import { TerminalView, closeTerminal, type TerminalTarget } from '../../components/terminal';
import { useRuns } from './store';

interface Tab {
  key: string;
  target: TerminalTarget;
  title: string;
  ended: boolean;
}

interface DockState {
  tabs: Tab[];
  active: string | null;
  open: boolean;
  height: number;
  add(target: TerminalTarget): void;
  close(key: string): void;
  patch(key: string, p: Partial<Tab>): void;
  setActive(key: string): void;
  setOpen(open: boolean): void;
  setHeight(h: number): void;
}

let serial = 0;
const MIN_H = 120;
const HEIGHT_KEY = 'spindle.runs.dockHeight';

export const useDock = create<DockState>((set, get) => ({
  tabs: [],
  active: null,
  open: false,
  height: Number(localStorage.getItem(HEIGHT_KEY)) || 280,
  add(target) {
    const key = `runs-terminal-${++serial}`;
    const title = target === 'local' ? 'This computer' : target.node;
    set({ tabs: [...get().tabs, { key, target, title, ended: false }], active: key, open: true });
  },
  close(key) {
    closeTerminal(key);
    const tabs = get().tabs.filter((t) => t.key !== key);
    const active = get().active === key ? (tabs.at(-1)?.key ?? null) : get().active;
    set({ tabs, active, open: tabs.length > 0 && get().open });
  },
  patch(key, p) {
    set({ tabs: get().tabs.map((t) => (t.key === key ? { ...t, ...p } : t)) });
  },
  setActive: (active) => set({ active, open: true }),
  setOpen: (open) => set({ open }),
  setHeight(h) {
    const height = Math.round(Math.max(MIN_H, Math.min(h, window.innerHeight - 160)));
    localStorage.setItem(HEIGHT_KEY, String(height));
    set({ height });
  },
}));

export function TerminalDock() {
  const { tabs, active, open, height, add, close, patch, setActive, setOpen, setHeight } =
    useDock();
  const nodes = useRuns((s) => s.nodes);
  const [nodePick, setNodePick] = useState('');
  const drag = useRef<{ y: number; h: number } | null>(null);

  useEffect(() => {
    const move = (e: PointerEvent) => {
      if (drag.current) setHeight(drag.current.h + (drag.current.y - e.clientY));
    };
    const up = () => (drag.current = null);
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
    return () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
    };
  }, [setHeight]);

  const onTabKey = (e: React.KeyboardEvent, i: number) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    e.preventDefault();
    const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length].key;
    setActive(next);
    requestAnimationFrame(() => document.getElementById(`term-tab-${next}`)?.focus());
  };

  const showBody = open && tabs.length > 0;
  return (
    <section
      className={`dock ${showBody ? 'open' : ''}`}
      aria-label="Terminals"
      data-testid="terminal-dock"
    >
      {showBody ? (
        <div
          className="dock-handle"
          role="separator"
          aria-orientation="horizontal"
          aria-label="Resize the terminals"
          aria-valuenow={height}
          aria-valuemin={MIN_H}
          tabIndex={0}
          onPointerDown={(e) => {
            e.preventDefault();
            drag.current = { y: e.clientY, h: height };
          }}
          onKeyDown={(e) => {
            if (e.key === 'ArrowUp') setHeight(height + 24);
            else if (e.key === 'ArrowDown') setHeight(height - 24);
          }}
        />
      ) : null}
      <div className="dock-bar">
        <button
          className="ghost dock-toggle"
          aria-expanded={showBody}
          onClick={() => (tabs.length ? setOpen(!open) : add('local'))}
          title={
            tabs.length
              ? open
                ? 'Hide terminals'
                : 'Show terminals'
              : 'Open a shell on this computer'
          }
        >
          <span aria-hidden>{showBody ? '▾' : '▸'}</span> Terminals
        </button>
        <div className="dock-tabs" role="tablist" aria-label="Open terminals">
          {tabs.map((t, i) => (
            <span key={t.key} className={`dock-tab ${t.key === active ? 'on' : ''}`}>
              <button
                role="tab"
                id={`term-tab-${t.key}`}
                aria-selected={t.key === active}
                aria-controls={`term-panel-${t.key}`}
                tabIndex={t.key === active ? 0 : -1}
                onClick={() => setActive(t.key)}
                onKeyDown={(e) => onTabKey(e, i)}
              >
                {t.title}
                {t.ended ? <span className="muted"> (ended)</span> : null}
              </button>
              <button
                className="dock-close"
                aria-label={`Close the terminal ${t.title}`}
                title="Close (ends the shell)"
                onClick={() => close(t.key)}
              >
                ×
              </button>
            </span>
          ))}
        </div>
        <button
          className="ghost small"
          onClick={() => add('local')}
          title="A shell on the computer running the studio"
        >
          + Local shell
        </button>
        <select
          className="small"
          aria-label="Open a shell on a node"
          value={nodePick}
          disabled={nodes.length === 0}
          onChange={(e) => {
            const node = e.target.value;
            setNodePick('');
            if (node) add({ node });
          }}
        >
          <option value="">{nodes.length ? '+ Shell on a node…' : 'No nodes yet'}</option>
          {nodes.map((n) => (
            <option key={n.name} value={n.name}>
              {n.name}
            </option>
          ))}
        </select>
      </div>
      {tabs.length ? (
        <div className="dock-body" style={{ height }} hidden={!showBody}>
          {tabs.map((t) => (
            <div
              key={t.key}
              id={`term-panel-${t.key}`}
              role="tabpanel"
              aria-labelledby={`term-tab-${t.key}`}
              className="dock-panel"
              hidden={t.key !== active}
            >
              <TerminalView
                target={t.target}
                sessionKey={t.key}
                active={showBody && t.key === active}
                label={`Terminal: ${t.title}`}
                onTitle={(title) => patch(t.key, { title })}
                onExit={() => patch(t.key, { ended: true })}
              />
            </div>
          ))}
        </div>
      ) : null}
    </section>
  );
}
