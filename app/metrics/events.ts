// Run events: what native/ writes to events.jsonl (one JSON object a line) and the host streams
// to the UI. Versioned: `v` changes only when a field changes meaning; new fields are additive.
import { z } from 'zod';

export const EVENTS_VERSION = 1;

const base = { v: z.literal(EVENTS_VERSION), t: z.number().describe('unix time, seconds') };

export const Layout = z.object({
  dp: z.number().int().positive(),
  ring: z.number().int().positive(),
  ulysses: z.number().int().positive(),
  zero: z.number().int().min(0).max(3),
  checkpointing: z.enum(['none', 'full', 'selective']),
  chunks: z.number().int().positive(),
  ring_variant: z.enum(['zigzag', 'contiguous']),
});
export type Layout = z.infer<typeof Layout>;

export const RunStartEvent = z.object({
  ...base,
  type: z.literal('run_start'),
  name: z.string(),
  config_hash: z.string(),
  world: z.number().int().positive(),
  nodes: z.number().int().positive(),
  layout: Layout,
  device: z.string(),
  versions: z.object({
    spindle: z.string(),
    python: z.string(),
    torch: z.string(),
    cuda: z.string().nullable(),
  }),
  resumed_from: z.number().int().nullable().optional(),
});

export const StepEvent = z.object({
  ...base,
  type: z.literal('step'),
  step: z.number().int().positive(),
  loss: z.number(),
  lr: z.number(),
  grad_norm: z.number(),
  tokens: z.number().int().nonnegative().describe('tokens trained so far, all ranks'),
  tokens_per_s: z.number().nonnegative(),
  elapsed_s: z.number().nonnegative(),
  mfu: z.number().nullable().optional(),
  eval_loss: z.number().nullable().optional(),
});

/** Measured bytes per rank, by the planner's own breakdown terms (same names). */
export const MemoryEvent = z.object({
  ...base,
  type: z.literal('memory'),
  step: z.number().int().nonnegative(),
  rank: z.number().int().nonnegative(),
  node: z.number().int().nonnegative().optional(),
  terms: z.record(z.string(), z.number().nonnegative()),
  cuda: z
    .object({
      max_allocated: z.number(),
      reserved: z.number(),
      max_reserved: z
        .number()
        .optional()
        .describe('peak reserved by the caching allocator during the measured step'),
      device_used: z
        .number()
        .optional()
        .describe('whole device in use (CUDA context, libraries, NCCL, the pool)'),
    })
    .nullable()
    .optional(),
  rss_bytes: z.number().nonnegative().nullable().optional(),
  // The runtime's memory accounting (native/spindle/accounting, docs/planner.md §2.3): `terms` are
  // then every measured term at the moment `phase`, `phases` has both moments the planner defines.
  phase: z.enum(['loss', 'layer_backward']).optional(),
  phases: z.record(z.string(), z.record(z.string(), z.number())).optional(),
  saved: z
    .object({
      layers: z.array(z.number().nonnegative()).describe('bytes each block keeps for backward'),
      embedding: z.number().nonnegative(),
      head: z.number().nonnegative().describe('kept by the final norm, LM head and loss'),
      remat: z.number().nonnegative().describe("the last block's recompute, at layer_backward"),
      rope: z.number().nonnegative(),
    })
    .optional(),
  peaks: z
    .record(z.string(), z.number())
    .nullable()
    .optional()
    .describe('allocated bytes at each moment and over the step'),
});

export const CheckpointEvent = z.object({
  ...base,
  type: z.literal('checkpoint'),
  step: z.number().int().nonnegative(),
  path: z.string(),
});

export const ErrorEvent = z.object({
  ...base,
  type: z.literal('error'),
  rank: z.number().int().nonnegative().nullable(),
  message: z.string(),
  traceback: z.string().optional(),
});

export const RunEndEvent = z.object({
  ...base,
  type: z.literal('run_end'),
  status: z.enum(['succeeded', 'failed', 'stopped']),
  step: z.number().int().nonnegative(),
  elapsed_s: z.number().nonnegative(),
});

export const RunEvent = z.discriminatedUnion('type', [
  RunStartEvent,
  StepEvent,
  MemoryEvent,
  CheckpointEvent,
  ErrorEvent,
  RunEndEvent,
]);
export type RunEvent = z.infer<typeof RunEvent>;
export type StepEvent = z.infer<typeof StepEvent>;
export type MemoryEvent = z.infer<typeof MemoryEvent>;

/** Parse one events.jsonl line; unknown event types from a newer runtime are skipped, not fatal. */
export function parseEventLine(
  line: string,
): { ok: true; event: RunEvent } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const r = RunEvent.safeParse(raw);
  if (r.success) return { ok: true, event: r.data };
  return {
    ok: false,
    error: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
  };
}
