// A probe's progress as it happens (steps per node, a bar), then for a cluster its checks:
// rendezvous-port reachability between every pair of nodes and version mismatches.
import type { NodeEntry, Verdict } from '../../../../app/protocol/nodes';
import { reachMatrix, VERDICT_TEXT } from './model';
import type { ProbeRun } from './store';

const STATUS_ICON = { running: '◌', done: '✓', failed: '✗', skipped: '–' } as const;

export function VerdictBadge({ verdict, label }: { verdict: Verdict; label?: string }) {
  return (
    <span className={`node-verdict ${verdict}`} data-verdict={verdict}>
      <span className="node-verdict-dot" aria-hidden />
      {label ?? VERDICT_TEXT[verdict]}
    </span>
  );
}

export function ProgressBar({ value, label }: { value: number | null; label: string }) {
  // Indeterminate while nothing can tell how far along it is.
  return (
    <div
      className={`probe-bar${value === null ? ' indeterminate' : ''}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={value === null ? undefined : Math.round(value * 100)}
    >
      <div
        className="probe-bar-fill"
        style={value === null ? undefined : { width: `${Math.max(3, value * 100)}%` }}
      />
    </div>
  );
}

/** The host reports the probe's phases (system, gpus, python…) as the detail of its "probe" step. */
export function stepLabel(s: { step: string; detail?: string; status: string }): string {
  return s.step === 'probe' && s.detail && s.status === 'running' ? s.detail : s.step;
}

/** How far a probe is: finished nodes plus the running steps' own fractions. */
export function probeFraction(run: ProbeRun): number | null {
  const total = run.names.length;
  if (total === 0) return null;
  const done = Object.keys(run.results).length;
  const partial = run.names
    .filter((n) => !run.results[n])
    .map(
      (n) =>
        run.steps
          .filter((s) => s.node === n && s.status === 'running' && s.fraction !== undefined)
          .map((s) => s.fraction!)[0] ?? 0,
    )
    .reduce((a, b) => a + b, 0);
  const f = (done + partial) / total;
  return f === 0 && run.steps.length === 0 ? null : f;
}

/** `onCancel` adds a Stop button; leave it out where the caller already offers one. */
export function ProbeProgress({
  run,
  onCancel,
  title,
}: {
  run: ProbeRun;
  onCancel?: () => void;
  title: string;
}) {
  const running = run.state === 'running';
  const fraction = running ? probeFraction(run) : 1;
  // Steps grouped by node (cluster-wide steps, without a node, first).
  const groups = new Map<string, ProbeRun['steps']>();
  for (const s of run.steps) groups.set(s.node ?? '', [...(groups.get(s.node ?? '') ?? []), s]);
  return (
    <div
      className="probe-progress"
      data-testid="probe-progress"
      data-state={run.state}
      aria-live="polite"
    >
      <div className="probe-progress-head">
        <strong>{title}</strong>
        <span className="muted">
          {running
            ? `${Object.keys(run.results).length} of ${run.names.length} node${run.names.length === 1 ? '' : 's'} done`
            : run.state === 'done'
              ? 'Finished'
              : run.state === 'cancelled'
                ? 'Stopped'
                : `Failed: ${run.error ?? 'unknown error'}`}
        </span>
        {running && onCancel ? (
          <button type="button" className="ghost small" onClick={onCancel}>
            Stop
          </button>
        ) : null}
      </div>
      {running ? <ProgressBar value={fraction} label={title} /> : null}
      {running && groups.size > 0 ? (
        <ul className="probe-steps">
          {[...groups.entries()].map(([node, steps]) => (
            <li key={node}>
              {node ? <span className="probe-node">{node}</span> : null}
              {steps.map((s) => (
                <span key={s.step} className={`probe-step ${s.status}`} title={s.detail}>
                  <span aria-hidden>{STATUS_ICON[s.status]}</span> {stepLabel(s)}
                  {s.status === 'failed' && s.detail ? `: ${s.detail}` : ''}
                </span>
              ))}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** A cluster's reachability matrix and warnings, from the members' last probes and the run's warnings. */
export function ClusterChecks({
  nodes,
  warnings,
}: {
  nodes: NodeEntry[];
  warnings: string[] | null;
}) {
  const m = reachMatrix(nodes);
  if (!m.tested && warnings === null) return null;
  return (
    <div className="cluster-checks" data-testid="cluster-checks">
      {m.tested ? (
        <figure className="reach">
          <figcaption>
            Rendezvous reachability{' '}
            <span className={m.failures ? 'bad' : 'ok'} data-testid="reach-summary">
              {m.failures
                ? `${m.failures} route${m.failures === 1 ? '' : 's'} cannot connect`
                : 'every tested route connects'}
            </span>
          </figcaption>
          <table className="reach-matrix" data-testid="reach-matrix">
            <thead>
              <tr>
                <th scope="col">
                  <span className="sr-only">from \ to</span>
                  <span aria-hidden>from ↓ to →</span>
                </th>
                {m.names.map((n) => (
                  <th scope="col" key={n}>
                    {n}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {m.cells.map((row, i) => (
                <tr key={m.names[i]}>
                  <th scope="row">{m.names[i]}</th>
                  {row.map((c, j) => (
                    <td
                      key={m.names[j]}
                      className={c.ok === null ? 'na' : c.ok ? 'ok' : 'bad'}
                      title={c.title}
                      data-from={m.names[i]}
                      data-to={m.names[j]}
                    >
                      <span aria-hidden>{c.ok === null ? '·' : c.ok ? '✓' : '✗'}</span>
                      <span className="sr-only">{c.title}</span>
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </figure>
      ) : null}
      {warnings !== null ? (
        warnings.length > 0 ? (
          <ul
            className="cluster-warnings"
            aria-label="Cluster warnings"
            data-testid="cluster-warnings"
          >
            {warnings.map((w) => (
              <li key={w}>
                <span aria-hidden>⚠</span> {w}
              </li>
            ))}
          </ul>
        ) : (
          <p className="ok" data-testid="cluster-warnings">
            ✓ No cluster warnings: torch, NCCL and driver versions agree.
          </p>
        )
      ) : null}
    </div>
  );
}
