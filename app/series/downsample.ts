// Downsampling to screen width that keeps spikes: the range is cut into buckets (a pixel or two
// each) and every bucket keeps its first, last, minimum and maximum point. A line through those
// points covers exactly the pixels the full series would (the M4 idea), so a one-step loss spike in
// a million points is still drawn, where averaging or every-nth sampling would hide it.
import { lowerBound } from './table';

export interface DownsampleOptions {
  /** Visible x range; defaults to the whole series. */
  x0?: number;
  x1?: number;
  /** How many buckets (about the plot width in pixels, or half of it). */
  buckets: number;
}

/**
 * Picks indices of the points to draw. `xs` must be non-decreasing (steps, elapsed time, tokens);
 * every array in `ys` is considered, so raw and smoothed lines both keep their extremes.
 * Returns sorted, unique indices.
 */
export function downsampleIndices(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>[],
  n: number,
  opts: DownsampleOptions,
): Int32Array {
  if (n === 0) return new Int32Array(0);
  const x0 = opts.x0 ?? xs[0];
  const x1 = opts.x1 ?? xs[n - 1];
  const start = lowerBound(xs, n, x0);
  let end = lowerBound(xs, n, x1);
  while (end < n && xs[end] <= x1) end++;
  const count = end - start;
  const buckets = Math.max(1, Math.floor(opts.buckets));
  // Few enough points: draw them all.
  if (count <= buckets * 2) {
    const all = new Int32Array(count);
    for (let i = 0; i < count; i++) all[i] = start + i;
    return all;
  }

  const span = x1 - x0;
  const scale = span > 0 ? buckets / span : 0;
  const out = new Int32Array(buckets * (2 + 2 * ys.length));
  let o = 0;
  const k = ys.length;
  const minI = new Int32Array(k);
  const maxI = new Int32Array(k);
  const minV = new Float64Array(k);
  const maxV = new Float64Array(k);

  let i = start;
  while (i < end) {
    // Bucket of point i; the bucket runs while points map to the same one.
    const b = Math.min(buckets - 1, Math.floor((xs[i] - x0) * scale));
    const first = i;
    for (let s = 0; s < k; s++) {
      minI[s] = -1;
      maxI[s] = -1;
      minV[s] = Infinity;
      maxV[s] = -Infinity;
    }
    // Compare against the bucket's right edge rather than dividing every point into a bucket.
    // The first point always joins, so the scan advances even on a NaN x or a rounding edge.
    const edge = b >= buckets - 1 || scale === 0 ? Infinity : x0 + (b + 1) / scale;
    for (; i < end; i++) {
      if (i > first && !(xs[i] < edge)) break;
      for (let s = 0; s < k; s++) {
        const v = ys[s][i];
        // NaN fails both comparisons, so gaps never become extremes.
        if (v < minV[s]) {
          minV[s] = v;
          minI[s] = i;
        }
        if (v > maxV[s]) {
          maxV[s] = v;
          maxI[s] = i;
        }
      }
    }
    const last = i - 1;
    // Emit in index order without duplicates: at most 2 + 2k small values, so a tiny sort is cheap.
    const picked: number[] = [first, last];
    for (let s = 0; s < k; s++) {
      if (minI[s] >= 0) picked.push(minI[s]);
      if (maxI[s] >= 0) picked.push(maxI[s]);
    }
    picked.sort((a, b2) => a - b2);
    let prev = -1;
    for (const p of picked) {
      if (p !== prev) out[o++] = p;
      prev = p;
    }
  }
  return out.slice(0, o);
}
