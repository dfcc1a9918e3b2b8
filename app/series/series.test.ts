import { describe, expect, it } from 'vitest';
import { Ema, SeriesTable, downsampleIndices, lowerBound } from './index';

/** Straight from the definition, recomputed over the whole prefix: the reference to match. */
function referenceEma(xs: number[], w: number): number[] {
  const out: number[] = [];
  for (let n = 1; n <= xs.length; n++) {
    let num = 0;
    let den = 0;
    for (let i = 0; i < n; i++) {
      const k = (1 - w) * w ** (n - 1 - i);
      num += k * xs[i];
      den += k;
    }
    out.push(num / den);
  }
  return out;
}

describe('Ema', () => {
  it('matches the bias-corrected definition point by point', () => {
    const xs = [5, 4, 4.5, 3, 2.5, 2.7, 1.9, 2.2];
    const ema = new Ema(0.6);
    const ref = referenceEma(xs, 0.6);
    xs.forEach((x, i) => expect(ema.push(x)).toBeCloseTo(ref[i], 12));
  });

  it('starts on the first value instead of being dragged towards zero', () => {
    const ema = new Ema(0.99);
    expect(ema.push(10)).toBeCloseTo(10, 12);
    expect(ema.push(10)).toBeCloseTo(10, 12);
  });

  it('passes raw values through at weight 0', () => {
    const ema = new Ema(0);
    expect([3, 1, 2].map((x) => ema.push(x))).toEqual([3, 1, 2]);
  });

  it('leaves gaps at non-finite values without poisoning what follows', () => {
    const ema = new Ema(0.5);
    ema.push(2);
    expect(ema.push(Number.NaN)).toBeNaN();
    expect(ema.push(Infinity)).toBeNaN();
    expect(ema.push(4)).toBeCloseTo(referenceEma([2, 4], 0.5)[1], 12);
  });
});

const point = (step: number, loss: number, extra: Record<string, number | null> = {}) => ({
  step,
  time: step * 0.5,
  tokens: step * 1000,
  values: { loss, ...extra },
});

describe('SeriesTable', () => {
  it('smooths incrementally exactly as a full recomputation would, across growth', () => {
    const t = new SeriesTable(['loss'], 0.9);
    const xs: number[] = [];
    for (let s = 1; s <= 5000; s++) {
      const y = Math.exp(-s / 1000) + 0.1 * Math.sin(s);
      xs.push(y);
      t.append(point(s, y));
    }
    const ref = new Ema(0.9);
    const smooth = t.smooth('loss');
    for (let i = 0; i < xs.length; i++) expect(smooth[i]).toBeCloseTo(ref.push(xs[i]), 12);
    expect(t.length).toBe(5000);
    expect(t.xs('tokens')[4999]).toBe(5_000_000);
  });

  it('re-smooths the history when the weight changes, and keeps unsmoothed metrics raw', () => {
    const t = new SeriesTable(['loss', 'lr'], 0, new Set(['lr']));
    [3, 1, 2, 5].forEach((y, i) => t.append(point(i + 1, y, { lr: y })));
    expect([...t.smooth('loss')]).toEqual([3, 1, 2, 5]);
    t.setWeight(0.5);
    const ref = referenceEma([3, 1, 2, 5], 0.5);
    [...t.smooth('loss')].forEach((v, i) => expect(v).toBeCloseTo(ref[i], 12));
    expect([...t.smooth('lr')]).toEqual([3, 1, 2, 5]);
  });

  it('replaces the steps a resumed run replays', () => {
    const t = new SeriesTable(['loss'], 0.5);
    for (let s = 1; s <= 10; s++) t.append(point(s, 10 - s));
    // Resumed from a checkpoint at step 6: steps 7.. come again with new values.
    t.append(point(7, 100));
    expect(t.length).toBe(7);
    expect([...t.xs('step')]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const ref = referenceEma([9, 8, 7, 6, 5, 4, 100], 0.5);
    expect(t.smooth('loss')[6]).toBeCloseTo(ref[6], 12);
  });

  it('stores missing values as gaps (eval loss only at eval steps)', () => {
    const t = new SeriesTable(['loss', 'eval_loss'], 0);
    t.append(point(1, 3, { eval_loss: null }));
    t.append(point(2, 2, { eval_loss: 2.5 }));
    expect(t.raw('eval_loss')[0]).toBeNaN();
    expect(t.raw('eval_loss')[1]).toBe(2.5);
  });

  it('finds the nearest point on any axis for hover read-outs', () => {
    const t = new SeriesTable(['loss'], 0);
    for (let s = 1; s <= 100; s++) t.append(point(s, s));
    expect(t.nearest('step', 41.4)).toBe(40);
    expect(t.nearest('step', 41.6)).toBe(41);
    expect(t.nearest('tokens', -5)).toBe(0);
    expect(t.nearest('time', 1e9)).toBe(99);
    expect(t.at(t.nearest('tokens', 42_100)).raw.loss).toBe(42);
    expect(new SeriesTable(['loss']).nearest('step', 3)).toBe(-1);
  });
});

describe('downsampleIndices', () => {
  const n = 100_000;
  const xs = Float64Array.from({ length: n }, (_, i) => i + 1);
  const ys = Float64Array.from({ length: n }, (_, i) => 2 + Math.sin(i / 500));

  it('keeps every point when there are few', () => {
    expect([...downsampleIndices([1, 2, 3], [[1, 2, 3]], 3, { buckets: 10 })]).toEqual([0, 1, 2]);
  });

  it('reduces to a few points per bucket, sorted and unique, with both ends kept', () => {
    const idx = downsampleIndices(xs, [ys], n, { buckets: 800 });
    expect(idx.length).toBeLessThanOrEqual(800 * 4);
    expect(idx.length).toBeGreaterThan(800);
    for (let i = 1; i < idx.length; i++) expect(idx[i]).toBeGreaterThan(idx[i - 1]);
    expect(idx[0]).toBe(0);
    expect(idx[idx.length - 1]).toBe(n - 1);
  });

  it('keeps a one-point spike and a one-point dip in a long series', () => {
    const spiky = Float64Array.from(ys);
    spiky[31_337] = 50;
    spiky[77_777] = -50;
    const idx = [...downsampleIndices(xs, [spiky], n, { buckets: 400 })];
    expect(idx).toContain(31_337);
    expect(idx).toContain(77_777);
    // The drawn extremes equal the true ones.
    const drawn = idx.map((i) => spiky[i]);
    expect(Math.max(...drawn)).toBe(50);
    expect(Math.min(...drawn)).toBe(-50);
  });

  it('keeps the extremes of every series given (raw and smoothed)', () => {
    const a = new Float64Array(n).fill(1);
    const b = new Float64Array(n).fill(1);
    a[10_000] = 9;
    b[60_000] = -9;
    const idx = [...downsampleIndices(xs, [a, b], n, { buckets: 100 })];
    expect(idx).toContain(10_000);
    expect(idx).toContain(60_000);
  });

  it('limits itself to the visible range and skips gaps', () => {
    const gappy = Float64Array.from(ys);
    for (let i = 0; i < n; i += 2) gappy[i] = Number.NaN;
    const idx = downsampleIndices(xs, [gappy], n, { x0: 50_000, x1: 60_000, buckets: 100 });
    expect(xs[idx[0]]).toBe(50_000);
    expect(xs[idx[idx.length - 1]]).toBe(60_000);
    expect(idx.length).toBeLessThanOrEqual(400);
  });

  it('handles points that share an x (many steps inside one second)', () => {
    const sameX = new Float64Array(5000).fill(7);
    const y = Float64Array.from({ length: 5000 }, (_, i) => i % 97);
    const idx = downsampleIndices(sameX, [y], 5000, { buckets: 10 });
    const drawn = [...idx].map((i) => y[i]);
    expect(Math.max(...drawn)).toBe(96);
    expect(Math.min(...drawn)).toBe(0);
  });
});

it('always advances, even over x values that are not numbers', () => {
  const xs = Float64Array.from({ length: 1000 }, (_, i) => (i % 100 === 5 ? Number.NaN : i));
  const ys = Float64Array.from({ length: 1000 }, (_, i) => i);
  const idx = downsampleIndices(xs, [ys], 1000, { buckets: 50, x0: 0, x1: 999 });
  expect(idx.length).toBeGreaterThan(0);
  expect(idx.length).toBeLessThanOrEqual(1000);
});

describe('lowerBound', () => {
  it('finds the first index not below x', () => {
    const a = [1, 2, 2, 2, 5];
    expect(lowerBound(a, 5, 2)).toBe(1);
    expect(lowerBound(a, 5, 3)).toBe(4);
    expect(lowerBound(a, 5, 9)).toBe(5);
    expect(lowerBound(a, 5, 0)).toBe(0);
  });
});
