// Shells on nodes, docked under the node list: one tab per node. Sessions are keyed, so they
// live on while the user looks at another tab or area; closing a tab closes its shell on the node.
import { TerminalView } from '../../components/terminal';
import { shellKey, useNodes } from './store';

export function ShellPanel() {
  const shells = useNodes((s) => s.shells);
  const active = useNodes((s) => s.activeShell);
  const setActive = useNodes((s) => s.setActiveShell);
  const openShell = useNodes((s) => s.openShell);
  const shellEnded = useNodes((s) => s.shellEnded);
  const close = useNodes((s) => s.closeShell);

  // Arrow keys move along the tabs, as in the area tabs above.
  const onTabKey = (e: React.KeyboardEvent, i: number) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    e.preventDefault();
    const next =
      shells[(i + (e.key === 'ArrowRight' ? 1 : shells.length - 1)) % shells.length].node;
    setActive(next);
    requestAnimationFrame(() => document.getElementById(`shell-tab-${next}`)?.focus());
  };

  return (
    <section className="shell-panel" aria-label="Node shells" data-testid="shell-panel">
      <div className="shell-tabs" role="tablist" aria-label="Open shells">
        {shells.map((s, i) => (
          <span key={s.node} className="shell-tab" data-active={s.node === active}>
            <button
              type="button"
              role="tab"
              id={`shell-tab-${s.node}`}
              aria-selected={s.node === active}
              aria-controls={`shell-${s.node}`}
              tabIndex={s.node === active ? 0 : -1}
              onClick={() => setActive(s.node)}
              onKeyDown={(e) => onTabKey(e, i)}
            >
              <span aria-hidden>❯ </span>
              {s.node}
              {s.ended ? <span className="muted"> (ended)</span> : null}
            </button>
            {s.ended ? (
              <button
                type="button"
                className="shell-close"
                aria-label={`Start a new shell on ${s.node}`}
                title="New session"
                onClick={() => openShell(s.node)}
              >
                ↻
              </button>
            ) : null}
            <button
              type="button"
              className="shell-close"
              aria-label={`Close the shell on ${s.node}`}
              title="Close"
              onClick={() => close(s.node)}
            >
              ×
            </button>
          </span>
        ))}
      </div>
      <div className="shell-body">
        {shells.map((s) => (
          <div
            key={s.node}
            id={`shell-${s.node}`}
            role="tabpanel"
            aria-labelledby={`shell-tab-${s.node}`}
            hidden={s.node !== active}
            data-testid={`shell-${s.node}`}
          >
            <TerminalView
              sessionKey={shellKey(s)}
              target={{ node: s.node }}
              active={s.node === active}
              label={`Shell on ${s.node}`}
              onExit={() => shellEnded(s.node)}
            />
          </div>
        ))}
      </div>
    </section>
  );
}
