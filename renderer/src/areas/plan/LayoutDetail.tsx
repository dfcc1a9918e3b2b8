// The selected layout in full: where every byte of the peak goes, what each collective costs and
// how much of it hides under compute, and the button that writes the layout into the config.
import { memo } from 'react';
import {
  COMM_KINDS,
  MEMORY_TERMS,
  type CommKind,
  type LayoutPlan,
  type MemoryTerm,
} from '../../../../app/planner/types';
import {
  formatBytes,
  formatCount,
  formatPercent,
  formatSeconds,
  formatSeqLenApprox,
  formatTokensPerSecond,
} from './format';
import { offloadText } from './LayoutTable';
import { usePlan } from './store';

const TERM_LABEL: Record<MemoryTerm, string> = {
  weights: 'Weights',
  grads: 'Gradients',
  optimizer: 'Optimizer states',
  activations: 'Activations (saved)',
  logits: 'Logits + loss',
  comm_buffers: 'Comm buffers',
  workspace: 'Workspace (one layer)',
  framework: 'CUDA context + libraries',
  nccl: 'NCCL',
  fragmentation: 'Allocator margin',
};
const COMM_LABEL: Record<CommKind, string> = {
  ulysses_a2a: 'Ulysses all-to-all',
  ring_p2p: 'Ring send/recv',
  zero_allgather: 'ZeRO all-gather',
  zero_reduce_scatter: 'ZeRO reduce-scatter',
  dp_allreduce: 'DP all-reduce',
};

export const LayoutDetail = memo(function LayoutDetail({
  layout,
  maxSeq,
}: {
  layout: LayoutPlan;
  maxSeq: number | null;
}) {
  const mem = layout.memory;
  const frac = mem.peak_bytes / mem.capacity_bytes;
  const comms = COMM_KINDS.filter((k) => layout.comm.by_kind[k].bytes > 0);
  const t = layout.time;
  return (
    <section className="layout-detail" aria-label="Selected layout" data-testid="layout-detail">
      <header>
        <div>
          <h2>
            <span className="mono">
              ulysses {layout.ulysses} × ring {layout.ring} × dp {layout.dp}
            </span>{' '}
            <span className={`badge ${layout.feasible ? 'ok' : 'bad'}`}>
              {layout.feasible ? 'fits' : "doesn't fit"}
            </span>
          </h2>
          <p className="muted">
            ZeRO {layout.zero} · checkpointing {layout.checkpointing} · offload{' '}
            {offloadText(layout)} · {layout.chunks} chunk{layout.chunks > 1 ? 's' : ''}
          </p>
        </div>
        <button
          type="button"
          className="primary"
          data-testid="use-layout"
          disabled={!layout.feasible}
          title={
            layout.feasible
              ? 'Write this layout into the config (u in the table)'
              : 'This layout does not fit'
          }
          onClick={() => usePlan.getState().useLayout(layout)}
        >
          Use this layout
        </button>
      </header>

      {layout.reasons.length > 0 && (
        <ul className="detail-reasons" data-testid="detail-reasons">
          {layout.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
      {layout.notes.length > 0 && (
        <ul className="detail-notes">
          {layout.notes.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}

      <dl className="kpis">
        <div>
          <dt>Peak memory</dt>
          <dd className={frac > 1 ? 'bad' : ''}>
            {formatBytes(mem.peak_bytes)}{' '}
            <span className="muted">
              / {formatBytes(mem.capacity_bytes)} ({formatPercent(frac, 0)})
            </span>
          </dd>
        </div>
        <div>
          <dt>Step time</dt>
          <dd>{formatSeconds(layout.step_time_s)}</dd>
        </div>
        <div>
          <dt>Throughput</dt>
          <dd>{formatTokensPerSecond(layout.tokens_per_s)}</dd>
        </div>
        <div>
          <dt title="Causal-aware; the second figure counts the full attention matrix, as many papers do">
            MFU
          </dt>
          <dd>
            {formatPercent(layout.mfu)}{' '}
            <span className="muted">({formatPercent(layout.mfu_legacy)} non-causal)</span>
          </dd>
        </div>
        <div>
          <dt>Longest sequence</dt>
          <dd
            data-testid="detail-max-seq"
            title={maxSeq !== null ? `${maxSeq.toLocaleString('en-US')} tokens` : undefined}
          >
            {maxSeq !== null
              ? `${formatSeqLenApprox(maxSeq)} tokens`
              : layout.max_seq_len !== null
                ? formatSeqLenApprox(layout.max_seq_len)
                : '…'}
          </dd>
        </div>
        <div>
          <dt>Tokens per step</dt>
          <dd>{formatCount(layout.tokens_per_step)}</dd>
        </div>
      </dl>

      <div className="detail-grid">
        <table className="mini" aria-label="Memory at the peak, per GPU">
          <caption>
            Memory at the peak{' '}
            <span className="muted">
              ({layout.memory.peak_phase === 'loss' ? 'during the loss' : 'in a layer backward'})
            </span>
          </caption>
          <tbody>
            {MEMORY_TERMS.map((k) => (
              <tr key={k}>
                <th scope="row">{TERM_LABEL[k]}</th>
                <td className="num">{formatBytes(mem.breakdown[k])}</td>
                <td className="share">
                  <span style={{ width: `${(mem.breakdown[k] / mem.peak_bytes) * 100}%` }} />
                </td>
              </tr>
            ))}
            {mem.host_bytes > 0 && (
              <tr>
                <th scope="row">Host memory per node</th>
                <td className="num">{formatBytes(mem.host_bytes)}</td>
                <td />
              </tr>
            )}
          </tbody>
        </table>

        <table className="mini" aria-label="Time per step">
          <caption>Time per step</caption>
          <tbody>
            <tr>
              <th scope="row">Compute</th>
              <td className="num">{formatSeconds(t.compute_s)}</td>
            </tr>
            <tr>
              <th scope="row">Communication, exposed</th>
              <td className="num">{formatSeconds(t.comm_exposed_s)}</td>
            </tr>
            <tr>
              <th scope="row">Communication, hidden under compute</th>
              <td className="num muted">{formatSeconds(layout.comm.overlapped_s)}</td>
            </tr>
            {layout.host_io.bytes_per_step > 0 && (
              <tr>
                <th scope="row">Host copies, exposed</th>
                <td className="num">{formatSeconds(t.host_exposed_s)}</td>
              </tr>
            )}
            <tr>
              <th scope="row">Optimizer update</th>
              <td className="num">{formatSeconds(t.optimizer_s)}</td>
            </tr>
          </tbody>
          <tbody className="comm-kinds">
            {comms.map((k) => {
              const c = layout.comm.by_kind[k];
              return (
                <tr
                  key={k}
                  title={`${c.calls} calls · ${formatBytes(c.intra_bytes)} inside nodes, ${formatBytes(c.inter_bytes)} across nodes`}
                >
                  <th scope="row">{COMM_LABEL[k]}</th>
                  <td className="num">
                    {formatBytes(c.bytes)}{' '}
                    <span className="muted">· {formatSeconds(c.time_s + c.overlapped_s)}</span>
                    {c.inter_bytes > 0 && <span className="tag">inter-node</span>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
});
