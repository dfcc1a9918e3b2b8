// A run's events as the charts need them: scalar metrics in a SeriesTable (incremental EMA, fast
// downsampling), memory per rank, the start/end records. Pure: fed by trace.ts from the stream.
import { SeriesTable, lowerBound } from '../../../../app/series';
import type { RunEvent } from '../../../../app/metrics/events';

type Ev<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

export const METRICS = ['loss', 'eval_loss', 'lr', 'grad_norm', 'tokens_per_s', 'mfu'] as const;
export type Metric = (typeof METRICS)[number];
/**
 * Drawn as measured whatever the slider says: the learning rate follows a schedule (smoothing
 * would only misdraw it), and eval points are sparse (averaging them per point would mix
 * evaluations hundreds of steps apart).
 */
const UNSMOOTHED = new Set<string>(['lr', 'eval_loss']);

export interface RankMemory {
  rank: number;
  node: number | null;
  steps: number[];
  /** Allocated bytes at the peak of each of `steps` (see measuredBytes). */
  bytes: number[];
  /** The latest event, for the term-by-term comparison. */
  last: Ev<'memory'>;
}

/**
 * The step's allocated-bytes peak, the quantity the planner's allocated peak predicts: CUDA's
 * max_memory_allocated, else the CPU trace's step peak. Older runtimes without either: the sum of
 * the measured terms, else the process's RSS.
 */
export function measuredBytes(e: Ev<'memory'>): number {
  const peak = e.cuda?.max_allocated ?? e.peaks?.step;
  if (peak != null) return peak;
  const sum = Object.values(e.terms).reduce((a, b) => a + b, 0);
  return sum > 0 ? sum : (e.rss_bytes ?? 0);
}

export class RunTrace {
  /** Events applied, for tests and diagnostics. */
  applied = 0;
  readonly table: SeriesTable;
  start: Ev<'run_start'> | null = null;
  end: Ev<'run_end'> | null = null;
  errors: Ev<'error'>[] = [];
  checkpoints: Ev<'checkpoint'>[] = [];
  memory = new Map<number, RankMemory>();
  /** The next event index to ask the host for. */
  nextIndex = 0;
  /** Wall-clock origin of the time axis: the first run_start (a resume keeps the original). */
  private t0: number | null = null;
  /** When the last event arrived here, for the latency read-out. */
  lastArrival = 0;
  lastEventT = 0;
  /** Unix time the runtime stamped on the latest step (for the event-to-chart latency). */
  lastStepT = 0;
  version = 0;

  constructor(
    readonly id: string,
    weight: number,
  ) {
    this.table = new SeriesTable(METRICS, weight, UNSMOOTHED);
  }

  apply(index: number, e: RunEvent): boolean {
    // A re-subscription can overlap what is already here.
    if (index < this.nextIndex) return false;
    this.nextIndex = index + 1;
    this.applied++;
    this.lastArrival = Date.now();
    this.lastEventT = e.t;
    switch (e.type) {
      case 'run_start':
        if (this.t0 === null) this.t0 = e.t;
        this.start = e;
        this.end = null;
        break;
      case 'step': {
        if (this.t0 === null) this.t0 = e.t - e.elapsed_s;
        this.lastStepT = e.t;
        this.table.append({
          step: e.step,
          time: e.t - this.t0,
          tokens: e.tokens,
          values: {
            loss: e.loss,
            eval_loss: e.eval_loss,
            lr: e.lr,
            grad_norm: e.grad_norm,
            tokens_per_s: e.tokens_per_s,
            mfu: e.mfu,
          },
        });
        break;
      }
      case 'memory': {
        let m = this.memory.get(e.rank);
        if (!m) {
          m = { rank: e.rank, node: e.node ?? null, steps: [], bytes: [], last: e };
          this.memory.set(e.rank, m);
        }
        // Same resume rule as the table: replayed steps replace what came after the checkpoint.
        const keep = lowerBound(m.steps, m.steps.length, e.step);
        m.steps.length = m.bytes.length = keep;
        m.steps.push(e.step);
        m.bytes.push(measuredBytes(e));
        m.last = e;
        break;
      }
      case 'checkpoint':
        this.checkpoints.push(e);
        break;
      case 'error':
        this.errors.push(e);
        break;
      case 'run_end':
        this.end = e;
        break;
    }
    return true;
  }

  /** A step's position on the time or tokens axis (memory events carry only the step). */
  xOfStep(axis: 'step' | 'time' | 'tokens', step: number): number {
    if (axis === 'step') return step;
    const i = this.table.nearest('step', step);
    return i < 0 ? Number.NaN : this.table.xs(axis)[i];
  }
}
