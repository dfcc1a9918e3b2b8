// Memory and throughput of one layout across sequence lengths: the data behind the Plan area's
// "memory vs seq_len" and "tokens/s vs seq_len" charts.
import type { RunConfig } from '../config';
import { planContext, type PlanOptions } from './context';
import { evaluate, toLayoutPlan } from './evaluate';
import type { LayoutChoice, LayoutPlan, MemoryTerm } from './types';

export interface SeqPoint {
  seq_len: number;
  feasible: boolean;
  reasons: string[];
  peak_bytes: number;
  capacity_bytes: number;
  breakdown: Record<MemoryTerm, number>;
  step_time_s: number;
  tokens_per_s: number;
  mfu: number;
}

export function sweepSeqLen(
  config: RunConfig,
  layout: LayoutChoice,
  seqLens: number[],
  opts: PlanOptions = {},
): SeqPoint[] {
  const ctx = planContext(config, opts);
  return seqLens.map((s) => {
    if (!Number.isInteger(s) || s < 1)
      throw new Error(`sequence lengths must be positive integers, got ${s}`);
    const plan: LayoutPlan = toLayoutPlan(ctx, evaluate(ctx, layout, s));
    return {
      seq_len: s,
      feasible: plan.feasible,
      reasons: plan.reasons,
      peak_bytes: plan.memory.peak_bytes,
      capacity_bytes: plan.memory.capacity_bytes,
      breakdown: plan.memory.breakdown,
      step_time_s: plan.step_time_s,
      tokens_per_s: plan.tokens_per_s,
      mfu: plan.mfu,
    };
  });
}
