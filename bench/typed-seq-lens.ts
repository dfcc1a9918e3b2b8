// The sequence lengths typed over the `seq_len:` line, one keystroke at a time, by both
// measurements of the Plan area's edit → updated table budget: the computing part in Node
// (bench/plan-update.ts) and the whole path in Chromium (e2e/plan-timing.spec.ts).
export const TYPED_SEQ_LENS = [
  '262144',
  '524288',
  '98304',
  '196608',
  '65536',
  '131072',
  '393216',
  '786432',
  '163840',
  '229376',
] as const;
