// The planner's output contract. `spindle plan --json` prints PlanResult; the Plan area and the
// runtime's memory accounting (same term names) build on it. Additive changes only.

/** Memory terms, per GPU, in bytes. The runtime's `memory` events use the same names. */
export const MEMORY_TERMS = [
  'weights', // parameters resident on the GPU (sharded under ZeRO-3, bf16 copy under mixed precision)
  'grads', // gradients resident on the GPU
  'optimizer', // fp32 master weights + AdamW moments resident on the GPU
  'activations', // saved for backward, all layers, per the checkpointing policy
  'logits', // LM-head logits and loss buffers
  'comm_buffers', // Ulysses all-to-all, ring KV receive, ZeRO gather buffers
  'workspace', // transient peak inside one layer's forward/backward (attention, MLP)
  'framework', // CUDA context, kernels, library workspaces (calibrated)
  'nccl', // NCCL communicator buffers (calibrated)
  'fragmentation', // allocator margin (calibrated fraction)
] as const;
export type MemoryTerm = (typeof MEMORY_TERMS)[number];

export const COMM_KINDS = ['ulysses_a2a', 'ring_p2p', 'zero_allgather', 'zero_reduce_scatter', 'dp_allreduce'] as const;
export type CommKind = (typeof COMM_KINDS)[number];

export interface LayoutChoice {
  ulysses: number;
  ring: number;
  dp: number;
  zero: 0 | 1 | 2 | 3;
  checkpointing: 'none' | 'full' | 'selective';
  offload: { optimizer: boolean; params: boolean; activations: boolean };
  chunks: number;
}

export interface LayoutPlan extends LayoutChoice {
  feasible: boolean;
  /** Plain-language reasons a layout cannot run; empty when feasible. */
  reasons: string[];
  memory: {
    peak_bytes: number;
    capacity_bytes: number;
    breakdown: Record<MemoryTerm, number>;
    /** Host (CPU) memory per node for offloaded states. */
    host_bytes: number;
  };
  comm: {
    bytes_per_step: number;
    /** Exposed (not overlapped) communication time per step. */
    time_s: number;
    overlapped_s: number;
    by_kind: Record<CommKind, { bytes: number; time_s: number; intra_bytes: number; inter_bytes: number }>;
  };
  compute: { flops_per_step: number; hardware_flops_per_step: number; time_s: number };
  step_time_s: number;
  tokens_per_s: number;
  /** Model FLOPs utilisation, causal-aware (attention counts half the score matrix). */
  mfu: number;
  /** MFU without causal halving, as many published numbers report it. */
  mfu_legacy: number;
  max_seq_len: number | null;
}

export interface PlanResult {
  model: { params: number; params_embedding: number; params_non_embedding: number; layers: number; hidden: number; vocab: number };
  cluster: { gpu: string; gpu_label: string; nodes: number; gpus_per_node: number; world: number; capacity_bytes: number };
  seq_len: number;
  layouts: LayoutPlan[];
  /** Index into layouts of the best feasible layout, or null when none fits. */
  best: number | null;
}
