// A run's scalar metrics as growable columns of Float64Array, indexed by point (one per step).
//
// Columns instead of an array of objects: a million points stay about 8 MB a column, appends are
// amortised O(1), and downsampling scans contiguous memory. Every metric keeps its smoothed twin,
// extended incrementally by one Ema per column as points arrive.
import { Ema, clampWeight } from './ema';

export const X_AXES = ['step', 'time', 'tokens'] as const;
export type XAxis = (typeof X_AXES)[number];

export interface Point {
  step: number;
  /** Seconds since the run started (wall time on the x axis). */
  time: number;
  /** Tokens trained so far. */
  tokens: number;
  values: Record<string, number | null | undefined>;
}

class Column {
  constructor(
    public raw: Float64Array,
    public smooth: Float64Array,
    public ema: Ema,
  ) {}
}

const INITIAL_CAPACITY = 1024;

function grow(a: Float64Array, capacity: number): Float64Array {
  const b = new Float64Array(capacity);
  b.set(a);
  return b;
}

export class SeriesTable {
  private cap = INITIAL_CAPACITY;
  private n = 0;
  private x: Record<XAxis, Float64Array> = {
    step: new Float64Array(INITIAL_CAPACITY),
    time: new Float64Array(INITIAL_CAPACITY),
    tokens: new Float64Array(INITIAL_CAPACITY),
  };
  private cols = new Map<string, Column>();
  private w: number;
  /** Bumped on every change, so views can tell whether to redraw. */
  version = 0;

  /**
   * @param metrics the value columns, fixed up front so every column has one slot per point
   * @param unsmoothed metrics shown as they are whatever the slider says (a schedule, not noise)
   */
  constructor(
    readonly metrics: readonly string[],
    weight = 0,
    private readonly unsmoothed: ReadonlySet<string> = new Set(),
  ) {
    this.w = clampWeight(weight);
    for (const m of metrics)
      this.cols.set(
        m,
        new Column(new Float64Array(this.cap), new Float64Array(this.cap), this.emaFor(m)),
      );
  }

  private emaFor(metric: string): Ema {
    return new Ema(this.unsmoothed.has(metric) ? 0 : this.w);
  }

  get length(): number {
    return this.n;
  }

  get weight(): number {
    return this.w;
  }

  xs(axis: XAxis): Float64Array {
    return this.x[axis].subarray(0, this.n);
  }

  raw(metric: string): Float64Array {
    return this.col(metric).raw.subarray(0, this.n);
  }

  smooth(metric: string): Float64Array {
    return this.col(metric).smooth.subarray(0, this.n);
  }

  private col(metric: string): Column {
    const c = this.cols.get(metric);
    if (!c) throw new Error(`unknown metric ${metric}`);
    return c;
  }

  /** The last step held, or 0 when empty. */
  get lastStep(): number {
    return this.n ? this.x.step[this.n - 1] : 0;
  }

  /**
   * Adds one point. A step at or before the last one means the run resumed from a checkpoint:
   * the points it replays replace the ones after that checkpoint, as on the run's own record.
   */
  append(p: Point): void {
    if (this.n && p.step <= this.x.step[this.n - 1]) this.truncateFromStep(p.step);
    if (this.n === this.cap) this.reserve(this.cap * 2);
    const i = this.n;
    this.x.step[i] = p.step;
    this.x.time[i] = p.time;
    this.x.tokens[i] = p.tokens;
    for (const [m, c] of this.cols) {
      const v = p.values[m];
      const y = v === null || v === undefined ? Number.NaN : v;
      c.raw[i] = y;
      c.smooth[i] = c.ema.push(y);
    }
    this.n++;
    this.version++;
  }

  private reserve(capacity: number) {
    this.cap = capacity;
    for (const a of X_AXES) this.x[a] = grow(this.x[a], capacity);
    for (const c of this.cols.values()) {
      c.raw = grow(c.raw, capacity);
      c.smooth = grow(c.smooth, capacity);
    }
  }

  /** Drops every point at or after `step` (binary search: steps only grow within the table). */
  truncateFromStep(step: number): void {
    const keep = lowerBound(this.x.step, this.n, step);
    if (keep === this.n) return;
    this.n = keep;
    this.recompute();
  }

  /** A new smoothing weight: the only change that walks the whole history. */
  setWeight(weight: number): void {
    const w = clampWeight(weight);
    if (w === this.w) return;
    this.w = w;
    this.recompute();
  }

  private recompute() {
    for (const [m, c] of this.cols) {
      c.ema = this.emaFor(m);
      for (let i = 0; i < this.n; i++) c.smooth[i] = c.ema.push(c.raw[i]);
    }
    this.version++;
  }

  /** Index of the point nearest to x on the given axis (for hover read-outs), or -1 when empty. */
  nearest(axis: XAxis, x: number): number {
    if (!this.n) return -1;
    const xs = this.x[axis];
    const i = lowerBound(xs, this.n, x);
    if (i === 0) return 0;
    if (i === this.n) return this.n - 1;
    return x - xs[i - 1] <= xs[i] - x ? i - 1 : i;
  }

  /** One point's values, exactly as recorded. */
  at(i: number): {
    step: number;
    time: number;
    tokens: number;
    raw: Record<string, number>;
    smooth: Record<string, number>;
  } {
    const raw: Record<string, number> = {};
    const smooth: Record<string, number> = {};
    for (const [m, c] of this.cols) {
      raw[m] = c.raw[i];
      smooth[m] = c.smooth[i];
    }
    return { step: this.x.step[i], time: this.x.time[i], tokens: this.x.tokens[i], raw, smooth };
  }
}

/** First index in a[0..n) whose value is >= x; a must be non-decreasing. */
export function lowerBound(a: ArrayLike<number>, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
