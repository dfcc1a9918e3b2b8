// Configs shared by the planner's tests. Small models keep hand-derived numbers checkable.
import { validateConfigObject, type RunConfig } from '../config';
import type { Calibration } from './catalog';
import type { LayoutChoice } from './types';

/** The tiny CPU example's model: 2 layers, hidden 64, 8 heads (head_dim 8), 2 KV heads, ffn 176, vocab 260. */
export const TINY_ARCH = {
  family: 'llama',
  layers: 2,
  hidden: 64,
  heads: 8,
  kv_heads: 2,
  ffn: 176,
  vocab: 260,
} as const;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export function makeConfig(
  over: DeepPartial<Record<string, unknown>> & Record<string, unknown> = {},
): RunConfig {
  const base: Record<string, Record<string, unknown> | unknown> = {
    version: 1,
    name: 'test',
    model: { architecture: TINY_ARCH },
    training: { seq_len: 512, micro_batch: 1, grad_accum: 1, precision: 'bf16' },
    parallel: { ulysses: 'auto', ring: 'auto', zero: 'auto', checkpointing: 'auto' },
    cluster: { gpu: 'h100-80g', nodes: 1, gpus_per_node: 4 },
  };
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = base[k];
    merged[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object'
        ? { ...(b as object), ...(v as object) }
        : v;
  }
  const r = validateConfigObject(merged);
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return r.config;
}

export function layout(over: Partial<LayoutChoice> = {}): LayoutChoice {
  return {
    ulysses: 2,
    ring: 2,
    dp: 1,
    zero: 1,
    checkpointing: 'none',
    offload: { optimizer: false, params: false, activations: false },
    chunks: 1,
    ...over,
  };
}

/** Calibration with small round numbers so expected bytes are easy to derive by hand. */
export const ROUND_CAL: Partial<Calibration> = {
  framework_bytes: 1000,
  nccl_base_bytes: 100,
  nccl_per_group_bytes: 10,
  fragmentation_fraction: 0.1,
  grad_bucket_bytes: 5000,
};
