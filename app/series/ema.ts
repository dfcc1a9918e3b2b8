// Exponential moving average with bias correction, fed one value at a time.
//
// A plain EMA started at 0 drags the first points towards 0; started at the first value it lets
// that one point dominate. Dividing by (1 - w^n) removes the start-up bias, so the smoothed curve
// begins on the data and every later value costs O(1) — a live run never recomputes its history.

/** Smoothing weight in [0, 1): 0 shows the raw values, 0.99 averages over roughly 100 points. */
export function clampWeight(w: number): number {
  if (!Number.isFinite(w) || w <= 0) return 0;
  return Math.min(w, 0.999);
}

export class Ema {
  private biased = 0;
  /** w^n for the n finite values seen so far. */
  private decay = 1;
  readonly weight: number;

  constructor(weight: number) {
    this.weight = clampWeight(weight);
  }

  /**
   * Adds one value and returns the smoothed value at it. Non-finite values (a NaN loss, a missing
   * eval point) are not averaged in: they would poison every later point. They return NaN so the
   * chart shows a gap there rather than an invented value.
   */
  push(x: number): number {
    if (!Number.isFinite(x)) return Number.NaN;
    this.biased = this.weight * this.biased + (1 - this.weight) * x;
    this.decay *= this.weight;
    // With weight 0 the division is by 1: raw values pass through exactly.
    return this.biased / (1 - this.decay);
  }

  /** The smoothed value so far without adding anything (NaN before the first finite value). */
  get value(): number {
    return this.decay === 1 ? Number.NaN : this.biased / (1 - this.decay);
  }
}
