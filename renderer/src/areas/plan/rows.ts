// The table's row model, apart from React so the benchmark and tests can use it: the planner's
// ranking, then the user's sort, feasible layouts first.
import type { LayoutPlan, PlanResult } from '../../../../app/planner/types';
import { layoutKey } from './layout-key';

export type SortKey =
  | 'rank'
  | 'layout'
  | 'zero'
  | 'checkpointing'
  | 'offload'
  | 'chunks'
  | 'memory'
  | 'step'
  | 'tokens'
  | 'mfu';

export interface Row {
  key: string;
  rank: number;
  layout: LayoutPlan;
}

const sortValue: Record<SortKey, (r: Row) => number | string> = {
  rank: (r) => r.rank,
  layout: (r) => r.layout.ulysses * 1e8 + r.layout.ring * 1e4 + r.layout.dp,
  zero: (r) => r.layout.zero,
  checkpointing: (r) => ['none', 'selective', 'full'].indexOf(r.layout.checkpointing),
  offload: (r) =>
    +r.layout.offload.optimizer + 2 * +r.layout.offload.params + 4 * +r.layout.offload.activations,
  chunks: (r) => r.layout.chunks,
  memory: (r) => r.layout.memory.peak_bytes / r.layout.memory.capacity_bytes,
  step: (r) => r.layout.step_time_s,
  tokens: (r) => r.layout.tokens_per_s,
  mfu: (r) => r.layout.mfu,
};

/** Rows in display order: feasible first, each group sorted; ties fall back to planner rank. */
export function tableRows(
  plan: PlanResult,
  sort: { key: SortKey; dir: 'asc' | 'desc' },
  showInfeasible: boolean,
): Row[] {
  const all = rankedRows(plan);
  const sign = sort.dir === 'asc' ? 1 : -1;
  const get = sortValue[sort.key];
  const cmp = (a: Row, b: Row) => {
    const va = get(a);
    const vb = get(b);
    return (va < vb ? -1 : va > vb ? 1 : 0) * sign || a.rank - b.rank;
  };
  const feasible = all.filter((r) => r.layout.feasible).sort(cmp);
  return showInfeasible
    ? [...feasible, ...all.filter((r) => !r.layout.feasible).sort(cmp)]
    : feasible;
}

/** The planner's order is its ranking, best first (app/planner/search.ts explains the order). */
export function rankedRows(plan: PlanResult): Row[] {
  return plan.layouts.map((layout, i) => ({ key: layoutKey(layout), rank: i + 1, layout }));
}
