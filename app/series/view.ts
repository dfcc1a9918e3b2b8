// What a chart draws of one metric: the downsampled points of its raw and smoothed lines.
import { downsampleIndices } from './downsample';
import type { SeriesTable, XAxis } from './table';

export interface SeriesView {
  x: number[];
  raw: number[];
  smooth: number[];
}

export interface ViewOptions {
  axis: XAxis;
  /** Plot width in pixels: one bucket a pixel keeps the drawing exact. */
  buckets: number;
  x0?: number;
  x1?: number;
}

export function seriesView(table: SeriesTable, metric: string, opts: ViewOptions): SeriesView {
  const n = table.length;
  const xs = table.xs(opts.axis);
  const raw = table.raw(metric);
  const smooth = table.smooth(metric);
  const idx = downsampleIndices(xs, [raw, smooth], n, {
    buckets: opts.buckets,
    x0: opts.x0,
    x1: opts.x1,
  });
  const view: SeriesView = {
    x: new Array(idx.length),
    raw: new Array(idx.length),
    smooth: new Array(idx.length),
  };
  let o = 0;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k];
    // A point with neither value (eval loss between evals) draws nothing: leave it out.
    if (Number.isNaN(raw[i]) && Number.isNaN(smooth[i])) continue;
    view.x[o] = xs[i];
    view.raw[o] = raw[i];
    view.smooth[o] = smooth[i];
    o++;
  }
  view.x.length = view.raw.length = view.smooth.length = o;
  return view;
}
