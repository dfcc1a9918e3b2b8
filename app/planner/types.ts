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

export const COMM_KINDS = [
  'ulysses_a2a',
  'ring_p2p',
  'zero_allgather',
  'zero_reduce_scatter',
  'dp_allreduce',
] as const;
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
  /** Non-blocking remarks (KV-head replication, a Ulysses group spanning nodes, ...). */
  notes: string[];
  /** Sequence length this plan was evaluated at. */
  seq_len: number;
  memory: {
    peak_bytes: number;
    capacity_bytes: number;
    /** Each term's bytes at the moment of the peak; the terms sum to peak_bytes. */
    breakdown: Record<MemoryTerm, number>;
    /** Which moment of the step the peak falls in (see docs/planner.md §2). */
    peak_phase: 'loss' | 'layer_backward';
    /** Every term at each of the two moments (breakdown is the peak_phase one). */
    phases: Record<'loss' | 'layer_backward', Record<MemoryTerm, number>>;
    /** Saved-for-backward bytes as the runtime reports them: one layer, the embedding, the
     * last layer's recompute (at layer_backward). */
    saved: { per_layer: number; embedding: number; remat: number };
    /** Host (CPU) memory per node for offloaded states and activations. */
    host_bytes: number;
  };
  comm: {
    bytes_per_step: number;
    /** Exposed (not overlapped) communication time per step. */
    time_s: number;
    overlapped_s: number;
    /** Per GPU per step. time_s is the kind's exposed time (the kinds sum to comm.time_s). */
    by_kind: Record<
      CommKind,
      {
        bytes: number;
        time_s: number;
        intra_bytes: number;
        inter_bytes: number;
        overlapped_s: number;
        calls: number;
      }
    >;
  };
  /** Flops are per GPU per optimizer step; time_s is the pure compute time of the step. */
  compute: { flops_per_step: number; hardware_flops_per_step: number; time_s: number };
  /** Host<->GPU copies for offload, per GPU per step (not network traffic). */
  host_io: { bytes_per_step: number; time_s: number; overlapped_s: number };
  /** The step time as a sum: compute + exposed comm + exposed host copies + optimizer update. */
  time: { compute_s: number; comm_exposed_s: number; host_exposed_s: number; optimizer_s: number };
  step_time_s: number;
  /** Tokens of one optimizer step over the whole cluster: seq_len x micro_batch x grad_accum x dp. */
  tokens_per_step: number;
  tokens_per_s: number;
  /** Model FLOPs utilisation, causal-aware (attention counts half the score matrix). */
  mfu: number;
  /** MFU without causal halving, as many published numbers report it. */
  mfu_legacy: number;
  max_seq_len: number | null;
}

export interface PlanResult {
  model: {
    /** Preset label (e.g. "Llama 3 8B"), or "custom architecture". */
    name: string;
    params: number;
    /** Input embedding plus an untied LM head. */
    params_embedding: number;
    params_non_embedding: number;
    layers: number;
    hidden: number;
    vocab: number;
  };
  cluster: {
    gpu: string;
    gpu_label: string;
    nodes: number;
    gpus_per_node: number;
    world: number;
    capacity_bytes: number;
  };
  seq_len: number;
  layouts: LayoutPlan[];
  /** Index into layouts of the best feasible layout, or null when none fits. */
  best: number | null;
  /** How many layouts the search evaluated (layouts holds the best per (ulysses, ring, dp) unless all were asked for). */
  candidates: number;
}
