// Series maths for the run charts: incremental bias-corrected EMA, columnar storage by step, and
// extreme-preserving downsampling to screen width. Pure: no DOM, no I/O.
export * from './ema';
export * from './table';
export * from './downsample';
export * from './view';
