// Planner vs runtime: the planner's memory terms for the layout a run used, against the `memory`
// events the run wrote (native/spindle/accounting measures them by the same names and moments,
// docs/planner.md §2.3). Pure: events in, rows out, for the CLI (`spindle plan --compare`), the
// validation grid and the Runs area.
import type { RunConfig } from '../config';
import type { MemoryEvent, RunEvent } from '../metrics/events';
import { planLayout } from './search';
import type { PlanOptions } from './context';
import { MEMORY_TERMS, type LayoutChoice, type LayoutPlan, type MemoryTerm } from './types';

export type ComparePhase = 'loss' | 'layer_backward' | 'step';

export interface CompareRow {
  phase: ComparePhase;
  /** A planner term, or a finer measurement: "activations: layer 0", "activations: embedding", ... */
  term: string;
  predicted: number;
  /** Largest over the ranks; null when the run did not measure it. */
  measured: number | null;
  /** (measured - predicted) / predicted; 0 when both are 0; null without a measurement. */
  error: number | null;
  /** Relative tolerance the comparison holds the term to (0: exactly equal); null: shown, not checked. */
  tolerance: number | null;
  ok: boolean | null;
  note?: string;
}

export interface Comparison {
  rows: CompareRow[];
  /** Ranks whose memory events were found. */
  ranks: number;
  /** The planner's peak moment, and the one the run measured as larger. */
  predicted_phase: 'loss' | 'layer_backward';
  measured_phase: string | null;
  /** Every checked row within its tolerance (true when nothing is checked). */
  ok: boolean;
  failures: CompareRow[];
}

/**
 * How close each term must be. States come from the optimizer's own tensors and are predicted
 * exactly; saved activations and the loss's bytes within 2 %. Workspace, the fixed costs and the
 * allocator totals are shown but not checked: on CPU the math attention kernel's score matrices
 * dominate the in-layer transients, which the planner (flash-style kernels) does not model.
 */
export const DEFAULT_TOLERANCES: Record<string, number | null> = {
  weights: 0,
  grads: 0,
  optimizer: 0,
  comm_buffers: 0,
  activations: 0.02,
  logits: 0.02,
  workspace: null,
  // At the loss moment workspace is the RoPE tables alone, whose size is exact.
  'loss workspace': 0,
  framework: null,
  nccl: null,
  fragmentation: null,
  allocated: null,
};

export interface CompareOptions {
  tolerances?: Record<string, number | null>;
  /**
   * Multiply predicted values before comparing, by term prefix (e.g. { activations: 1.03 }). For
   * tests that prove a drifting term fails the comparison.
   */
  perturb?: Record<string, number>;
}

type Measured = Pick<MemoryEvent, 'rank' | 'step' | 'terms'> & {
  phase?: string;
  phases?: Record<string, Record<string, number>>;
  saved?: { layers?: number[]; embedding?: number; head?: number; remat?: number; rope?: number };
  peaks?: Record<string, number> | null;
  cuda?: {
    max_allocated: number;
    reserved: number;
    max_reserved?: number;
    device_used?: number;
  } | null;
};

/**
 * The bytes the planner expects the allocator to hand out at the step's peak moment: the peak
 * without the fixed costs (framework, NCCL) and the allocator's slack (fragmentation). This is
 * what a run's allocated-bytes peak (CUDA max_memory_allocated, or the CPU trace) measures.
 */
export function allocatedAtPeak(plan: Pick<LayoutPlan, 'memory'>): number {
  const b = plan.memory.breakdown;
  return (
    b.weights + b.grads + b.optimizer + b.activations + b.logits + b.comm_buffers + b.workspace
  );
}

/** The memory events of a run's first measured step, one per rank (the newest run if resumed). */
export function memoryEvents(events: RunEvent[]): Measured[] {
  const mem = events.filter((e): e is MemoryEvent => e.type === 'memory') as Measured[] &
    MemoryEvent[];
  if (mem.length === 0) return [];
  const step = Math.min(...mem.map((e) => e.step));
  const byRank = new Map<number, Measured>();
  for (const e of mem) if (e.step === step) byRank.set(e.rank, e);
  return [...byRank.values()].sort((a, b) => a.rank - b.rank);
}

/** The layout a run used, from its run_start event and config. */
export function runLayout(
  config: RunConfig,
  layout: {
    dp: number;
    ring: number;
    ulysses: number;
    zero: number;
    checkpointing: string;
    chunks: number;
  },
): LayoutChoice {
  const off = config.parallel.offload;
  const flag = (v: boolean | 'auto') => v === true;
  return {
    ulysses: layout.ulysses,
    ring: layout.ring,
    dp: layout.dp,
    zero: layout.zero as LayoutChoice['zero'],
    checkpointing: layout.checkpointing as LayoutChoice['checkpointing'],
    chunks: layout.chunks,
    offload: {
      optimizer: flag(off.optimizer),
      params: flag(off.params),
      activations: flag(off.activations),
    },
  };
}

/** The planner's prediction for a run: its layout, sequence length and torch version. */
export function planForRun(
  config: RunConfig,
  events: RunEvent[],
  opts: PlanOptions = {},
): LayoutPlan {
  const start = events.find((e) => e.type === 'run_start');
  if (!start || start.type !== 'run_start')
    throw new Error('the run has no run_start event (it never started)');
  return planLayout(config, runLayout(config, start.layout), config.training.seq_len, {
    torch: start.versions.torch,
    ...opts,
  });
}

function maxOf(values: (number | undefined | null)[]): number | null {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? Math.max(...v) : null;
}

function toleranceFor(
  phase: ComparePhase,
  term: string,
  tol: Record<string, number | null>,
): number | null {
  const base = term.split(':')[0].trim();
  if (`${phase} ${base}` in tol) return tol[`${phase} ${base}`];
  return base in tol ? tol[base] : null;
}

function factorFor(term: string, perturb: Record<string, number>): number {
  for (const [k, f] of Object.entries(perturb))
    if (term === k || term.startsWith(k + ':')) return f;
  return 1;
}

export function compareMemory(
  plan: LayoutPlan,
  events: Measured[] | RunEvent[],
  opts: CompareOptions = {},
): Comparison {
  const mem: Measured[] =
    events.length && 'type' in events[0]
      ? memoryEvents(events as RunEvent[])
      : (events as Measured[]);
  const tol = { ...DEFAULT_TOLERANCES, ...(opts.tolerances ?? {}) };
  const perturb = opts.perturb ?? {};
  const rows: CompareRow[] = [];
  const add = (
    phase: ComparePhase,
    term: string,
    predicted: number,
    measured: number | null,
    note?: string,
  ) => {
    const p = predicted * factorFor(term, perturb);
    const tolerance = measured === null ? null : toleranceFor(phase, term, tol);
    let error: number | null = null;
    if (measured !== null) error = p === 0 ? (measured === 0 ? 0 : Infinity) : (measured - p) / p;
    let ok: boolean | null = null;
    if (tolerance !== null && error !== null)
      ok = tolerance === 0 ? measured === p : Math.abs(error) <= tolerance;
    rows.push({
      phase,
      term,
      predicted: p,
      measured,
      error,
      tolerance,
      ok,
      ...(note ? { note } : {}),
    });
  };

  const start = (events as RunEvent[]).find((e) => 'type' in e && e.type === 'run_start');
  const onCpu = start?.type === 'run_start' && start.device === 'cpu';
  const hasPhases = mem.some((e) => e.phases);
  for (const phase of ['loss', 'layer_backward'] as const) {
    const predicted = plan.memory.phases[phase];
    for (const term of MEMORY_TERMS) {
      let measured: number | null;
      if (hasPhases) measured = maxOf(mem.map((e) => e.phases?.[phase]?.[term]));
      else measured = phase === 'loss' ? maxOf(mem.map((e) => e.terms[term])) : null; // older runtimes: states only
      if (measured === null && ['framework', 'nccl', 'fragmentation'].includes(term)) continue; // calibrated, shown below
      if (measured === null && predicted[term] === 0) continue;
      const note =
        phase === 'layer_backward' && term === 'workspace'
          ? onCpu
            ? "in-layer transients with SP staging; on CPU the math attention kernel's score matrices, which the planner does not model"
            : 'in-layer transients with SP staging'
          : undefined;
      add(phase, term, predicted[term], measured, note);
    }
  }
  // Saved activations in detail: every layer, the embedding, the recompute.
  const layers = mem.map((e) => e.saved?.layers ?? []);
  const nLayers = Math.max(0, ...layers.map((l) => l.length));
  for (let i = 0; i < nLayers; i++)
    add(
      'loss',
      `activations: layer ${i}`,
      plan.memory.saved.per_layer,
      maxOf(layers.map((l) => l[i])),
    );
  if (mem.some((e) => e.saved)) {
    add(
      'loss',
      'activations: embedding',
      plan.memory.saved.embedding,
      maxOf(mem.map((e) => e.saved?.embedding)),
    );
    const remat = maxOf(mem.map((e) => e.saved?.remat));
    if (plan.memory.saved.remat > 0 || (remat ?? 0) > 0)
      add('layer_backward', 'activations: recompute', plan.memory.saved.remat, remat);
  }
  // Whole-step figures: the allocator's peak against the planner's allocated bytes at its peak.
  const b = plan.memory.breakdown;
  const allocated = allocatedAtPeak(plan);
  const cudaPeak = maxOf(mem.map((e) => e.cuda?.max_allocated));
  const stepPeak = cudaPeak ?? maxOf(mem.map((e) => e.peaks?.step));
  if (stepPeak !== null) {
    const what =
      cudaPeak !== null
        ? 'CUDA max_memory_allocated over the first step'
        : 'CPU: allocations over the first step (profiler) plus the states';
    add(
      'step',
      'allocated',
      allocated,
      stepPeak,
      `${what}; the planner's allocated bytes at its peak moment (the optimizer step is not a modelled moment)`,
    );
  }
  const used = maxOf(
    mem.map((e) =>
      e.cuda?.device_used != null && e.cuda.reserved != null
        ? e.cuda.device_used - e.cuda.reserved
        : null,
    ),
  );
  if (used !== null)
    add(
      'step',
      'framework + nccl',
      b.framework + b.nccl,
      used,
      'device used - reserved, after the first step',
    );
  const frag = maxOf(
    mem.map((e) =>
      e.cuda?.max_reserved != null ? e.cuda.max_reserved - e.cuda.max_allocated : null,
    ),
  );
  if (frag !== null)
    add('step', 'fragmentation', b.fragmentation, frag, 'max reserved - max allocated');

  const failures = rows.filter((r) => r.ok === false);
  return {
    rows,
    ranks: mem.length,
    predicted_phase: plan.memory.peak_phase,
    measured_phase: mem.find((e) => e.phase)?.phase ?? null,
    ok: failures.length === 0,
    failures,
  };
}

/** Signed percentage for tables: "+0.00 %", "−3.1 %", "—". */
export function formatError(error: number | null): string {
  if (error === null) return '—';
  if (!Number.isFinite(error)) return 'new';
  const pct = error * 100;
  const digits = Math.abs(pct) < 10 ? 2 : 1;
  return `${pct >= 0 ? '+' : '−'}${Math.abs(pct).toFixed(digits)} %`;
}

/** Bytes with enough digits to see a small error: "476.0 KiB", "12.31 MiB", "1.250 GiB". */
export function formatBytesPrecise(bytes: number): string {
  const a = Math.abs(bytes);
  if (a >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(3)} GiB`;
  if (a >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
  if (a >= 2 ** 10) return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
  return `${bytes} B`;
}

const PHASE_LABEL: Record<ComparePhase, string> = {
  loss: 'loss',
  layer_backward: 'layer bwd',
  step: 'step',
};

/** The comparison as a plain-text table (the CLI's output). */
export function formatCompareTable(c: Comparison): string {
  const head = ['moment', 'term', 'predicted', 'measured', 'error', 'tolerance', ''];
  const rows = c.rows.map((r) => [
    PHASE_LABEL[r.phase],
    r.term,
    formatBytesPrecise(r.predicted),
    r.measured === null ? 'not measured' : formatBytesPrecise(r.measured),
    formatError(r.error),
    r.tolerance === null
      ? '—'
      : r.tolerance === 0
        ? 'exact'
        : `±${(r.tolerance * 100).toFixed(0)} %`,
    r.ok === false ? 'OVER' : r.ok ? 'ok' : (r.note ?? ''),
  ]);
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const right = new Set([2, 3, 4, 5]);
  const lines = all.map((r) =>
    r
      .map((cell, i) => (right.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
  const verdict = c.ok
    ? `all checked terms within tolerance (${c.ranks} rank${c.ranks === 1 ? '' : 's'}; predicted peak at ${c.predicted_phase}, measured ${c.measured_phase ?? '—'})`
    : `${c.failures.length} term${c.failures.length === 1 ? '' : 's'} over tolerance: ${c.failures.map((f) => `${f.term} (${PHASE_LABEL[f.phase]}) ${formatError(f.error)}`).join(', ')}`;
  return [...lines, '', verdict].join('\n');
}

export type { MemoryTerm };
