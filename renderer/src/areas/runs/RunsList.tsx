// The run index: every run the studio launched, newest first, with its status and last loss.
// Choose one to open it; tick others to overlay them on its charts.
import { useEffect, useState } from 'react';
import { filterRuns, isActive, useRuns, type StatusFilter } from './store';
import { fmtDuration, fmtValue, fmtWhen } from './format';
import { runColor } from './colors';

const FILTERS: { id: StatusFilter; label: string }[] = [
  { id: 'all', label: 'All' },
  { id: 'active', label: 'Active' },
  { id: 'finished', label: 'Finished' },
];

export function RunsList() {
  const {
    runs,
    listState,
    listError,
    selected,
    mode,
    compare,
    filter,
    statusFilter,
    select,
    toggleCompare,
    setFilter,
    setStatusFilter,
    newRun,
    clearCompare,
  } = useRuns();
  const shown = filterRuns(runs, filter, statusFilter);
  const anyActive = runs.some((r) => isActive(r.status));
  const [, tick] = useState(0);
  useEffect(() => {
    if (!anyActive) return;
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [anyActive]);

  return (
    <nav className="runs-list" aria-label="Runs">
      <div className="runs-list-head">
        <h2>Runs</h2>
        <button
          className={mode === 'launch' ? 'primary' : 'ghost'}
          onClick={newRun}
          aria-pressed={mode === 'launch'}
        >
          + New run
        </button>
      </div>
      <div className="runs-filter">
        <input
          type="search"
          placeholder="Filter by name, target, status"
          aria-label="Filter runs"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
        <div className="segmented small" role="radiogroup" aria-label="Status">
          {FILTERS.map((f) => (
            <button
              key={f.id}
              role="radio"
              aria-checked={statusFilter === f.id}
              className={statusFilter === f.id ? 'on' : ''}
              onClick={() => setStatusFilter(f.id)}
            >
              {f.label}
            </button>
          ))}
        </div>
      </div>
      {compare.length ? (
        <div className="compare-note">
          Comparing {compare.length + 1} runs{' '}
          <button className="link" onClick={clearCompare}>
            clear
          </button>
        </div>
      ) : null}
      {listState === 'error' ? (
        <p className="run-error small">Run list unavailable: {listError}</p>
      ) : null}
      {listState === 'loading' && runs.length === 0 ? (
        <p className="muted small pad">Loading runs…</p>
      ) : null}
      {listState === 'ready' && runs.length === 0 ? (
        <p className="muted small pad">No runs yet. Launch one to see it here.</p>
      ) : null}
      {runs.length > 0 && shown.length === 0 ? (
        <p className="muted small pad">No run matches the filter.</p>
      ) : null}
      <ul className="runs" data-testid="runs-list">
        {shown.map((r) => {
          const isSel = mode === 'run' && selected === r.id;
          const ci = compare.indexOf(r.id);
          const end = r.endedAt ?? (isActive(r.status) ? Date.now() : null);
          return (
            <li key={r.id} className={isSel ? 'sel' : ''} data-run-id={r.id} data-status={r.status}>
              <button
                className="run-row"
                aria-current={isSel ? 'true' : undefined}
                onClick={() => select(r.id)}
              >
                <span className={`status-dot s-${r.status}`} title={r.status} aria-hidden />
                <span className="run-name">{r.name}</span>
                <span className="run-loss" title="Last loss">
                  {r.lastLoss !== null ? fmtValue(r.lastLoss) : ''}
                </span>
                <span className="run-meta">
                  <span className="sr-only">{r.status}, </span>
                  {r.target} · {fmtWhen(r.startedAt)} ·{' '}
                  {end ? fmtDuration((end - r.startedAt) / 1000) : '–'}
                  {r.lastStep !== null
                    ? ` · step ${r.lastStep}${r.totalSteps ? `/${r.totalSteps}` : ''}`
                    : ''}
                </span>
              </button>
              {!isSel && mode === 'run' && selected ? (
                <label className="compare-pick" title="Overlay on the open run's charts">
                  <input
                    type="checkbox"
                    checked={ci >= 0}
                    onChange={() => toggleCompare(r.id)}
                    aria-label={`Compare ${r.name} (${r.id.slice(0, 8)})`}
                  />
                  {ci >= 0 ? (
                    <span className="swatch" style={{ background: runColor(ci + 1) }} aria-hidden />
                  ) : null}
                </label>
              ) : null}
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
