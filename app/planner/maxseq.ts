// The longest sequence a layout can train. Peak memory is non-decreasing in seq_len for a fixed
// layout (every sequence-dependent term is linear in the local tokens), so a doubling search
// followed by bisection over multiples of the layout's granularity finds the last length that fits.
import type { PlanContext } from './context';
import { fitsAt } from './evaluate';
import { seqGranularity } from './rules';
import type { LayoutChoice } from './types';

/** No run plans past 2^40 tokens; the bound keeps the doubling finite if a model ever stops growing. */
const LIMIT = 2 ** 40;

/** Longest seq_len (a multiple of the layout's granularity) whose peak fits; 0 when none does. */
export function maxSeqLen(ctx: PlanContext, l: LayoutChoice): number {
  const g = seqGranularity(ctx, l);
  if (!fitsAt(ctx, l, g)) return 0;
  let lo = 1; // multiples of g known to fit
  let hi = 2; // first multiple tried that may not
  while (hi * g <= LIMIT && fitsAt(ctx, l, hi * g)) {
    lo = hi;
    hi *= 2;
  }
  if (hi * g > LIMIT) return lo * g;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fitsAt(ctx, l, mid * g)) lo = mid;
    else hi = mid;
  }
  return lo * g;
}
