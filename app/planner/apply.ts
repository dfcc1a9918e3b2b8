// Write a chosen layout back into a run config (the Plan area's "use this layout").
import type { RunConfig } from '../config';
import type { LayoutChoice } from './types';

/**
 * A copy of config with every layout field fixed to the layout's value. dp has no config field:
 * it is what the cluster has left after ulysses x ring, so it must match the cluster.
 */
export function applyLayout(config: RunConfig, layout: LayoutChoice): RunConfig {
  const world = config.cluster.nodes * config.cluster.gpus_per_node;
  const used = layout.ulysses * layout.ring * layout.dp;
  if (used !== world) {
    throw new Error(
      `layout ulysses ${layout.ulysses} × ring ${layout.ring} × dp ${layout.dp} = ${used} GPUs does not match the cluster's ${world}`,
    );
  }
  return {
    ...config,
    parallel: {
      ...config.parallel,
      ulysses: layout.ulysses,
      ring: layout.ring,
      zero: layout.zero,
      checkpointing: layout.checkpointing,
      offload: { ...layout.offload },
      chunks: layout.chunks,
    },
  };
}
