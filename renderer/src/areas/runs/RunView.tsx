// One run: what it is and how far it got, its live charts (with compared runs overlaid), its
// logs, and the config it was launched with.
import { useEffect, useState } from 'react';
import type { RunSummary } from '../../../../app/protocol/runs';
import { RunCharts } from './RunCharts';
import { LogsView } from './LogsView';
import { ConfirmDialog } from './ConfirmDialog';
import { StatusBadge } from './StatusBadge';
import { isActive, useRuns } from './store';
import { useTraces } from './trace';
import { fmtDuration, fmtValue, fmtWhen } from './format';

type Tab = 'charts' | 'logs' | 'config' | 'details';
const TABS: { id: Tab; label: string }[] = [
  { id: 'charts', label: 'Charts' },
  { id: 'logs', label: 'Logs' },
  { id: 'config', label: 'Config' },
  { id: 'details', label: 'Details' },
];

/** Re-renders every second while `on`: live durations. */
function useTick(on: boolean) {
  const [, set] = useState(0);
  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => set((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [on]);
}

export function RunView({ run }: { run: RunSummary }) {
  const { runs, compare, stop, remove, setDraft, newRun } = useRuns();
  const [tab, setTab] = useState<Tab>('charts');
  const [confirm, setConfirm] = useState<'stop' | 'delete' | null>(null);
  const [stopping, setStopping] = useState(false);
  const active = isActive(run.status);
  useTick(active);
  const [trace] = useTraces([run.id]);
  const others = compare
    .map((id) => runs.find((r) => r.id === id))
    .filter((r): r is RunSummary => !!r);

  // The trace can be ahead of the index (events stream faster than index updates).
  const step = Math.max(run.lastStep ?? 0, trace?.table.lastStep ?? 0);
  const lossIdx = trace ? trace.table.length - 1 : -1;
  const loss = lossIdx >= 0 ? trace!.table.raw('loss')[lossIdx] : run.lastLoss;
  const total = run.totalSteps;
  const duration = ((run.endedAt ?? Date.now()) - run.startedAt) / 1000;
  const errors = trace?.errors ?? [];

  return (
    <section className="run-view" aria-labelledby="run-title" data-run-id={run.id}>
      <header className="run-head">
        <div className="run-title-row">
          <h1 id="run-title">{run.name}</h1>
          <StatusBadge status={run.status} />
          <span className="grow" />
          {active ? (
            <button
              className="danger"
              onClick={() => setConfirm('stop')}
              disabled={run.status === 'stopping' || stopping}
            >
              {run.status === 'stopping' || stopping ? 'Stopping…' : 'Stop'}
            </button>
          ) : (
            <button className="ghost" onClick={() => setConfirm('delete')}>
              Delete record
            </button>
          )}
          <button
            className="ghost"
            onClick={() => {
              setDraft({ configYaml: run.configYaml, origin: `run ${run.name}` });
              newRun();
            }}
          >
            Launch again…
          </button>
        </div>
        <dl className="run-facts">
          <div>
            <dt>Target</dt>
            <dd>{run.target}</dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>{fmtWhen(run.startedAt)}</dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd data-testid="run-duration">{fmtDuration(duration)}</dd>
          </div>
          <div>
            <dt>Step</dt>
            <dd data-testid="run-step">
              {step}
              {total ? ` / ${total}` : ''}
            </dd>
          </div>
          <div>
            <dt>Loss</dt>
            <dd data-testid="run-loss">{fmtValue(loss)}</dd>
          </div>
          <div>
            <dt>Run id</dt>
            <dd className="mono small">{run.id}</dd>
          </div>
        </dl>
        {total ? (
          <div
            className="progress"
            role="progressbar"
            aria-label="Steps done"
            aria-valuemin={0}
            aria-valuemax={total}
            aria-valuenow={step}
          >
            <div
              className={`progress-fill ${run.status}`}
              style={{ width: `${Math.min(100, (100 * step) / total)}%` }}
            />
          </div>
        ) : null}
        {run.error || errors.length ? (
          <div className="run-error" role="alert">
            <strong>{run.status === 'failed' ? 'The run failed' : 'Errors reported'}:</strong>{' '}
            {run.error ?? errors[0]?.message}
            {errors[0]?.traceback ? (
              <details>
                <summary>
                  Traceback{errors[0].rank !== null ? ` (rank ${errors[0].rank})` : ''}
                </summary>
                <pre>{errors[0].traceback}</pre>
              </details>
            ) : null}
          </div>
        ) : null}
      </header>

      <div className="subtabs" role="tablist" aria-label="Run views">
        {TABS.map((t) => (
          <button
            key={t.id}
            role="tab"
            id={`run-tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`run-panel-${t.id}`}
            className={tab === t.id ? 'on' : ''}
            onClick={() => setTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div
        className="run-panel"
        role="tabpanel"
        id={`run-panel-${tab}`}
        aria-labelledby={`run-tab-${tab}`}
      >
        {tab === 'charts' ? <RunCharts run={run} others={others} /> : null}
        {tab === 'logs' ? <LogsView key={run.id} runId={run.id} runName={run.name} /> : null}
        {tab === 'config' ? <pre className="config-text">{run.configYaml}</pre> : null}
        {tab === 'details' ? <Details run={run} /> : null}
      </div>

      {confirm === 'stop' ? (
        <ConfirmDialog
          title="Stop this run?"
          confirmLabel="Stop run"
          danger
          onCancel={() => setConfirm(null)}
          onConfirm={() => {
            setConfirm(null);
            setStopping(true);
            void stop(run.id).finally(() => setStopping(false));
          }}
        >
          <p>
            Every rank of <strong>{run.name}</strong> on {run.target} is stopped. Checkpoints
            already written stay in the run directory.
          </p>
        </ConfirmDialog>
      ) : null}
      {confirm === 'delete' ? (
        <ConfirmDialog
          title="Delete this run's record?"
          confirmLabel="Delete record"
          danger
          onCancel={() => setConfirm(null)}
          onConfirm={() => {
            setConfirm(null);
            void remove(run.id);
          }}
        >
          <p>
            <strong>{run.name}</strong> leaves the studio's run list. Its files on {run.target} —
            config, events, logs and checkpoints — are kept.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}

function Details({ run }: { run: RunSummary }) {
  const [trace] = useTraces([run.id]);
  const s = trace?.start;
  return (
    <div className="details">
      {s ? (
        <dl className="kv">
          <dt>Device</dt>
          <dd>{s.device}</dd>
          <dt>World</dt>
          <dd>
            {s.world} processes on {s.nodes} node{s.nodes > 1 ? 's' : ''}
          </dd>
          <dt>Layout</dt>
          <dd>
            dp {s.layout.dp} × ring {s.layout.ring} ({s.layout.ring_variant}) × ulysses{' '}
            {s.layout.ulysses}, ZeRO-{s.layout.zero}, checkpointing {s.layout.checkpointing},{' '}
            {s.layout.chunks} chunk
            {s.layout.chunks > 1 ? 's' : ''}
          </dd>
          <dt>Versions</dt>
          <dd>
            spindle {s.versions.spindle}, Python {s.versions.python}, PyTorch {s.versions.torch}
            {s.versions.cuda ? `, CUDA ${s.versions.cuda}` : ''}
          </dd>
          <dt>Config hash</dt>
          <dd className="mono">{s.config_hash}</dd>
          {s.resumed_from ? (
            <>
              <dt>Resumed from</dt>
              <dd>step {s.resumed_from}</dd>
            </>
          ) : null}
        </dl>
      ) : (
        <p className="muted">The run has not reported its start yet.</p>
      )}
      <h2>Checkpoints</h2>
      {trace?.checkpoints.length ? (
        <ul className="plain">
          {trace.checkpoints.map((c) => (
            <li key={`${c.step}:${c.path}`}>
              step {c.step} — <span className="mono">{c.path}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">None yet.</p>
      )}
      {trace?.errors.length ? (
        <>
          <h2>Errors</h2>
          {trace.errors.map((e, i) => (
            <div key={i} className="run-error">
              <strong>{e.rank !== null ? `rank ${e.rank}: ` : ''}</strong>
              {e.message}
              {e.traceback ? <pre>{e.traceback}</pre> : null}
            </div>
          ))}
        </>
      ) : null}
    </div>
  );
}
