// One cluster (or the nodes in none): its summary and probe button, a running probe's progress,
// the cluster checks, and a row per node with everything its last probe found.
import { Fragment, useState } from 'react';
import type { NodeEntry, ProbeResult } from '../../../../app/protocol/nodes';
import { driverCuda, endpoint, formatBytes, gpuSummary, summarizeCluster, timeAgo } from './model';
import {
  ClusterChecks,
  ProbeProgress,
  ProgressBar,
  VerdictBadge,
  probeFraction,
  stepLabel,
} from './ProbeProgress';
import { probeKey, runningFor, useNodes } from './store';

interface Props {
  name: string | null;
  nodes: NodeEntry[];
  now: number;
  onEdit(n: NodeEntry): void;
  onRemove(n: NodeEntry): void;
}

export const UNCLUSTERED_KEY = 'group:unclustered';

export function ClusterCard({ name, nodes, now, onEdit, onRemove }: Props) {
  const probes = useNodes((s) => s.probes);
  const probe = useNodes((s) => s.probe);
  const cancelProbe = useNodes((s) => s.cancelProbe);
  const sum = summarizeCluster(nodes);
  const key = name ? probeKey({ cluster: name }) : UNCLUSTERED_KEY;
  const run = probes[key];
  const running = run?.state === 'running';
  const headingId = `cluster-${name ?? 'none'}-title`;
  const names = nodes.map((n) => n.name);
  const gpuText =
    sum.probed === 0
      ? 'not probed yet'
      : sum.gpus === 0
        ? 'no GPUs'
        : `${sum.gpus} GPU${sum.gpus === 1 ? '' : 's'} (${sum.gpuNames.join(', ')})`;

  return (
    <section
      className="cluster"
      aria-labelledby={headingId}
      data-testid={`cluster-${name ?? 'unclustered'}`}
    >
      <header className="cluster-head">
        <h2 id={headingId}>
          {name ? <>{name}</> : <span className="muted">Not in a cluster</span>}
        </h2>
        {name ? <VerdictBadge verdict={sum.verdict} /> : null}
        <span className="muted">
          {sum.nodes} node{sum.nodes === 1 ? '' : 's'} · {gpuText}
        </span>
        <span className="spacer" />
        {running ? (
          <button type="button" className="ghost" onClick={() => cancelProbe(key)}>
            Stop probe
          </button>
        ) : (
          <button
            type="button"
            className="ghost"
            onClick={() => probe(names, name ? { cluster: name } : { key })}
            title={
              name
                ? 'Probe every node, then check node-to-node reachability and matching versions'
                : 'Probe each of these nodes'
            }
          >
            {name ? 'Probe cluster' : nodes.length > 1 ? 'Probe all' : 'Probe'}
          </button>
        )}
      </header>
      {run && (running || run.state === 'failed') ? (
        <ProbeProgress run={run} title={name ? `Probing cluster ${name}` : 'Probing'} />
      ) : null}
      {name ? (
        <ClusterChecks
          nodes={nodes}
          warnings={run?.cluster && run.state !== 'running' ? run.warnings : null}
        />
      ) : null}
      <div className="table-wrap">
        <table className="node-table">
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Status</th>
              <th scope="col">GPUs</th>
              <th scope="col">Driver / CUDA</th>
              <th scope="col">Torch / NCCL</th>
              <th scope="col">CPU / RAM</th>
              <th scope="col">Free disk</th>
              <th scope="col">Last probed</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {nodes.map((n) => (
              <NodeRow
                key={n.name}
                node={n}
                now={now}
                onEdit={() => onEdit(n)}
                onRemove={() => onRemove(n)}
              />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function NodeRow({
  node,
  now,
  onEdit,
  onRemove,
}: {
  node: NodeEntry;
  now: number;
  onEdit(): void;
  onRemove(): void;
}) {
  const [open, setOpen] = useState(false);
  const probes = useNodes((s) => s.probes);
  const probe = useNodes((s) => s.probe);
  const openShell = useNodes((s) => s.openShell);
  const p = node.lastProbe;
  const active = runningFor(probes, node.name);
  const ownRun = probes[probeKey({ node: node.name })];
  const detailsId = `node-${node.name}-details`;
  const step = active
    ? [...active.steps].reverse().find((s) => s.node === node.name || s.node === undefined)
    : undefined;
  const dc = p ? driverCuda(p) : null;
  // A probe that broke as a whole; a later successful result (e.g. from a cluster probe) wins.
  const failed =
    ownRun?.state === 'failed' && (!p || p.at < ownRun.startedAt) ? ownRun.error : null;

  return (
    <Fragment>
      <tr
        className={`node-row${open ? ' open' : ''}`}
        data-testid={`node-${node.name}`}
        data-verdict={p?.verdict ?? 'unknown'}
      >
        <th scope="row" className="node-name">
          <button
            type="button"
            className="disclosure"
            aria-expanded={open}
            aria-controls={detailsId}
            onClick={() => setOpen(!open)}
          >
            <span className="chev" aria-hidden>
              ▸
            </span>
            <span className="name">{node.name}</span>
          </button>
          <span className="mono muted endpoint">
            {endpoint(node)}
            {node.proxyJump ? ` via ${node.proxyJump}` : ''}
          </span>
        </th>
        <td className="status-cell" data-testid="node-status">
          {active && !active.results[node.name] ? (
            <div className="probing">
              <span className="muted">Probing{step ? ` · ${stepLabel(step)}` : '…'}</span>
              <ProgressBar
                value={probeFraction({ ...active, names: [node.name] })}
                label={`Probing ${node.name}`}
              />
            </div>
          ) : failed ? (
            <>
              <VerdictBadge verdict="not_ready" label="Probe failed" />
              <div className="reason" title={failed ?? undefined}>
                {failed}
              </div>
            </>
          ) : p ? (
            <>
              <VerdictBadge verdict={p.verdict} />
              {/* Long reasons (an ssh warning) are clamped here; the details row has them whole. */}
              {p.reasons[0] ? (
                <div className="reason" title={p.reasons[0]}>
                  {p.reasons[0]}
                </div>
              ) : null}
            </>
          ) : (
            <VerdictBadge verdict="unknown" />
          )}
        </td>
        <td data-testid="node-gpus">
          {p ? (
            (gpuSummary(p.gpus) ?? <span className="muted">No GPU</span>)
          ) : (
            <span className="muted">—</span>
          )}
        </td>
        <td>
          {dc && (dc.driver || dc.cuda) ? (
            `${dc.driver ?? '—'} / ${dc.cuda ?? '—'}`
          ) : (
            <span className="muted">—</span>
          )}
        </td>
        <td>
          {p && (p.torch || p.nccl) ? (
            `${p.torch ?? '—'} / ${p.nccl ?? '—'}`
          ) : (
            <span className="muted">{p ? 'no torch' : '—'}</span>
          )}
        </td>
        <td data-testid="node-cpu">
          {p ? (
            `${p.cpus ?? '?'} CPU${p.cpus === 1 ? '' : 's'} · ${formatBytes(p.memBytes)}`
          ) : (
            <span className="muted">—</span>
          )}
        </td>
        <td>{p ? formatBytes(p.diskFreeBytes) : <span className="muted">—</span>}</td>
        <td>
          {p ? (
            <time dateTime={new Date(p.at).toISOString()} title={new Date(p.at).toLocaleString()}>
              {timeAgo(p.at, now)}
            </time>
          ) : (
            <span className="muted">never</span>
          )}
        </td>
        <td className="row-actions">
          <button
            type="button"
            className="ghost small"
            disabled={Boolean(active)}
            onClick={() => probe([node.name])}
            aria-label={`Probe ${node.name}`}
          >
            Probe
          </button>
          <button
            type="button"
            className="ghost small"
            onClick={() => openShell(node.name)}
            aria-label={`Open a shell on ${node.name}`}
          >
            Shell
          </button>
          <button
            type="button"
            className="ghost small"
            onClick={onEdit}
            aria-label={`Edit ${node.name}`}
          >
            Edit
          </button>
          <button
            type="button"
            className="ghost small danger"
            onClick={onRemove}
            aria-label={`Remove ${node.name}`}
          >
            Remove
          </button>
        </td>
      </tr>
      {open ? (
        <tr className="node-details-row">
          <td colSpan={9} id={detailsId}>
            <NodeDetails node={node} probe={p} />
          </td>
        </tr>
      ) : null}
    </Fragment>
  );
}

function NodeDetails({ node, probe: p }: { node: NodeEntry; probe: ProbeResult | null }) {
  if (!p)
    return (
      <p className="muted">
        Not probed yet: probe the node to see its GPUs, drivers, Python packages and disk.
      </p>
    );
  return (
    <div className="node-details">
      {p.reasons.length > 0 ? (
        <div>
          <h3>
            Why “
            {p.verdict === 'ready' ? 'ready' : p.verdict === 'warning' ? 'warning' : 'not ready'}”
          </h3>
          <ul className="node-reasons">
            {p.reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <div>
        <h3>System</h3>
        <dl className="facts">
          <dt>Hostname</dt>
          <dd>{p.hostname ?? '—'}</dd>
          <dt>OS</dt>
          <dd>{p.os ?? '—'}</dd>
          <dt>Python</dt>
          <dd>{p.python ?? 'not found'}</dd>
          <dt>Key file</dt>
          <dd className="mono">{node.identityFile ?? 'agent / default keys'}</dd>
        </dl>
      </div>
      <div>
        <h3>GPUs</h3>
        {p.gpus.length === 0 ? (
          <p className="muted">
            No NVIDIA GPU found on this node; it can run CPU (gloo) jobs only.
          </p>
        ) : (
          <ol className="gpu-list">
            {p.gpus.map((g, i) => (
              <li key={i}>
                {g.name} · {formatBytes(g.memBytes)}
                {g.driver ? ` · driver ${g.driver}` : ''}
              </li>
            ))}
          </ol>
        )}
      </div>
      {p.interfaces.length > 0 ? (
        <div>
          <h3>Interfaces</h3>
          <dl className="facts">
            {p.interfaces.map((i) => (
              <Fragment key={i.name}>
                <dt className="mono">{i.name}</dt>
                <dd className="mono">{i.addresses.join(', ') || '—'}</dd>
              </Fragment>
            ))}
          </dl>
        </div>
      ) : null}
    </div>
  );
}
