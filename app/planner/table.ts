// The plan as a readable table (the CLI's default output): best first, human units, and for
// layouts that can't run, the reasons underneath.
import type { LayoutPlan, PlanResult } from './types';
import { formatBytes, formatCount, formatSeconds, formatTokens } from './units';

function offloadLabel(l: LayoutPlan): string {
  const parts = [
    l.offload.optimizer && 'opt',
    l.offload.params && 'params',
    l.offload.activations && 'act',
  ].filter(Boolean);
  return parts.length ? parts.join('+') : '-';
}

const formatParams = (n: number) =>
  n >= 1e9
    ? `${(n / 1e9).toFixed(2)}B`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(1)}M`
      : `${(n / 1e3).toFixed(1)}k`;

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Longest sequences are rarely round: show them in (binary) thousands, rounded down so they still fit. */
const approxTokens = (n: number) => (n >= 10 * 1024 ? `${Math.floor(n / 1024)}k` : String(n));

function render(rows: string[][], rightAligned: Set<number>): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

export function formatPlanTable(plan: PlanResult): string {
  const c = plan.cluster;
  const out: string[] = [];
  out.push(
    `${plan.model.name} (${formatParams(plan.model.params)} params), seq_len ${formatTokens(plan.seq_len)} (${plan.seq_len} tokens)`,
  );
  out.push(
    `${c.nodes} node${c.nodes > 1 ? 's' : ''} × ${c.gpus_per_node} ${c.gpu_label} (${formatBytes(c.capacity_bytes)} each), ` +
      `${plan.candidates} layout${plan.candidates === 1 ? '' : 's'} evaluated, ${plan.layouts.length} shown`,
  );
  out.push('');

  const showMax = plan.layouts.some((l) => l.max_seq_len !== null);
  const header = [
    '#',
    'ulysses',
    'ring',
    'dp',
    'zero',
    'ckpt',
    'offload',
    'chunks',
    'peak/GPU',
    'step',
    'comm',
    'tokens/s',
    'MFU',
    'MFU(legacy)',
  ];
  if (showMax) header.push('max seq');
  const right = new Set([0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13, 14]);
  const row = (l: LayoutPlan, i: number) => {
    const r = [
      `${i + 1}${i === plan.best ? '*' : ''}`,
      String(l.ulysses),
      String(l.ring),
      String(l.dp),
      String(l.zero),
      l.checkpointing,
      offloadLabel(l),
      String(l.chunks),
      formatBytes(l.memory.peak_bytes),
      formatSeconds(l.step_time_s),
      formatSeconds(l.comm.time_s),
      formatCount(l.tokens_per_s),
      pct(l.mfu),
      pct(l.mfu_legacy),
    ];
    if (showMax)
      r.push(
        l.max_seq_len === null ? '—' : l.max_seq_len === 0 ? 'none' : approxTokens(l.max_seq_len),
      );
    return r;
  };

  const feasible = plan.layouts.map((l, i) => [l, i] as const).filter(([l]) => l.feasible);
  const blocked = plan.layouts.map((l, i) => [l, i] as const).filter(([l]) => !l.feasible);
  if (feasible.length) {
    out.push(...render([header, ...feasible.map(([l, i]) => row(l, i))], right));
    const best = plan.layouts[plan.best ?? 0];
    out.push('');
    out.push(
      `* best: ulysses ${best.ulysses} × ring ${best.ring} × dp ${best.dp}, zero ${best.zero}, checkpointing ${best.checkpointing}, ` +
        `offload ${offloadLabel(best)}, chunks ${best.chunks}: ${formatBytes(best.memory.peak_bytes)} peak of ${formatBytes(best.memory.capacity_bytes)}, ` +
        `${formatSeconds(best.step_time_s)} per step, ${formatCount(best.tokens_per_s)} tokens/s, MFU ${pct(best.mfu)}`,
    );
    for (const n of best.notes) out.push(`  note: ${n}`);
  } else {
    out.push('No layout fits. Closest first:');
  }
  if (blocked.length) {
    out.push('');
    out.push(`Cannot run (${blocked.length}):`);
    for (const [l, i] of blocked) {
      out.push(
        `  ${i + 1}. ulysses ${l.ulysses} × ring ${l.ring} × dp ${l.dp}, zero ${l.zero}, ${l.checkpointing}, offload ${offloadLabel(l)}, chunks ${l.chunks}`,
      );
      for (const r of l.reasons) out.push(`     - ${r}`);
    }
  }
  return out.join('\n');
}
