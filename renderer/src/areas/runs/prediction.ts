// The planner's prediction for a run, computed here in the renderer from the config the run was
// launched with and the layout it reported in run_start — so the charts can show measured next to
// predicted for exactly that run, whatever the Plan area currently holds.
import { useEffect, useState } from 'react';
import { parseConfigText } from '../../../../app/config';
import type { Layout } from '../../../../app/metrics/events';

/** What the run reported at its start: its layout, and the torch version (which changes what autograd saves). */
export interface RunStartInfo {
  layout: Layout;
  torch: string;
}
import type { LayoutPlan, MemoryTerm } from '../../../../app/planner/types';
import type * as Planner from '../../../../app/planner';

type PlannerModule = typeof Planner;

// Loaded lazily: the planner is only needed once a run is opened, and as its own chunk it stays
// out of the first paint.
let planner: Promise<PlannerModule | null> | null = null;
function loadPlanner(): Promise<PlannerModule | null> {
  planner ??= import('../../../../app/planner').catch(() => null);
  return planner;
}

export interface Prediction {
  tokensPerS: number;
  mfu: number;
  stepTimeS: number;
  /** Per GPU (or process) with the fixed costs and allocator slack: what must fit. */
  peakBytes: number;
  /** What the allocator hands out at the peak: the counterpart of a run's measured peak. */
  allocatedBytes: number;
  capacityBytes: number;
  /** What one rank runs on: memory figures are per GPU, or per process on CPU. */
  perRank: 'GPU' | 'process';
  breakdown: Partial<Record<MemoryTerm, number>>;
  /** What the numbers are for, e.g. "ulysses 2 × ring 2, ZeRO-1, on cpu". */
  layoutLabel: string;
  feasible: boolean;
  reasons: string[];
  /** The whole layout plan, for the term-by-term comparison. */
  plan: LayoutPlan;
}

export type PredictionState =
  | { state: 'loading' }
  | { state: 'ready'; prediction: Prediction }
  | { state: 'none'; why: string };

const cache = new Map<string, Promise<PredictionState>>();

async function compute(configYaml: string, start: RunStartInfo | null): Promise<PredictionState> {
  const mod = await loadPlanner();
  if (!mod) return { state: 'none', why: 'the planner is not available in this build' };
  const parsed = parseConfigText(configYaml);
  if (!parsed.ok)
    return {
      state: 'none',
      why: `the run's config does not parse: ${parsed.issues[0]?.message ?? 'invalid'}`,
    };
  try {
    let plan: LayoutPlan | undefined;
    // The layout the run reported is the one to predict; before run_start, the planner's best.
    if (start)
      plan = mod.planLayout(
        parsed.config,
        mod.runLayout(parsed.config, start.layout),
        parsed.config.training.seq_len,
        {
          torch: start.torch,
        },
      );
    else {
      const all = mod.planConfig(parsed.config);
      plan = all.best !== null ? all.layouts[all.best] : undefined;
    }
    const gpu = parsed.config.cluster.gpu;
    if (!plan) return { state: 'none', why: 'the planner found no layout for this config' };
    return {
      state: 'ready',
      prediction: {
        tokensPerS: plan.tokens_per_s,
        mfu: plan.mfu,
        stepTimeS: plan.step_time_s,
        peakBytes: plan.memory.peak_bytes,
        allocatedBytes: mod.allocatedAtPeak(plan),
        perRank: gpu === 'cpu' ? 'process' : 'GPU',
        capacityBytes: plan.memory.capacity_bytes,
        breakdown: plan.memory.breakdown,
        layoutLabel: `ulysses ${plan.ulysses} × ring ${plan.ring}${plan.dp > 1 ? ` × dp ${plan.dp}` : ''}, ZeRO-${plan.zero}, checkpointing ${plan.checkpointing}${gpu ? `, on ${gpu}` : ''}`,
        feasible: plan.feasible,
        reasons: plan.reasons,
        plan,
      },
    };
  } catch (e) {
    return {
      state: 'none',
      why: `the planner could not plan this config: ${(e as Error).message}`,
    };
  }
}

/** The prediction for a run's config and reported layout, computed once per pair. */
export function usePrediction(
  configYaml: string | null,
  start: RunStartInfo | null,
): PredictionState {
  const key = configYaml === null ? '' : `${configYaml}\n#start ${JSON.stringify(start)}`;
  const [result, setResult] = useState<{ key: string; value: PredictionState }>({
    key: '',
    value: { state: 'loading' },
  });
  useEffect(() => {
    if (!key) return;
    let live = true;
    let p = cache.get(key);
    if (!p) {
      p = compute(configYaml!, start);
      cache.set(key, p);
    }
    p.then((value) => live && setResult({ key, value }));
    return () => {
      live = false;
    };
    // The key is the identity of (config, layout).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  if (!key) return { state: 'none', why: 'no config' };
  return result.key === key ? result.value : { state: 'loading' };
}
