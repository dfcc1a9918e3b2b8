// Everything about a run that does not depend on the layout, resolved once per plan: the model's
// shape, the GPU, calibration, byte widths by precision, and planner options.
import { resolveArchitecture, type RunConfig } from '../config';
import { calibrationFor, gpuSpec, type Calibration, type GpuSpec } from './catalog';
import { modelShape, type ModelShape } from './shape';
import { torchBehaviour, type TorchBehaviour } from './torch';

export interface PlanOptions {
  /** Fill max_seq_len for every returned layout. */
  maxSeq?: boolean;
  /** Return every candidate layout instead of the best one per (ulysses, ring, dp). */
  all?: boolean;
  /** Plan for this sequence length instead of training.seq_len. */
  seqLen?: number;
  /** Override calibration constants (tests, what-if in the UI). */
  calibration?: Partial<Calibration>;
  /**
   * How the runtime computes LM head + cross-entropy. "materialized" keeps the logits of the whole
   * local sequence and cross-entropy's fp32 log-softmax; "chunked" runs head + loss + gradient on
   * lossChunkTokens tokens at a time. Default: the run config's training.loss and
   * training.loss_chunk_tokens (what the runtime will do); set here for what-ifs.
   */
  loss?: 'chunked' | 'materialized';
  lossChunkTokens?: number;
  /**
   * The PyTorch version the run uses (e.g. "2.4.1", "1.13.0"): what autograd keeps for backward
   * differs between versions (torch.ts). Default: a 2.x release, as on GPU nodes; comparisons
   * with a run pass the run's own version (run_start.versions.torch).
   */
  torch?: string;
  /**
   * Relative band within which step times per token count as equal and memory headroom decides
   * (default 0.01). 0 ranks by time alone.
   */
  rankTolerance?: number;
  /** Smallest FPDT chunk (tokens of the local sequence) the search tries when chunks is auto. */
  minChunkTokens?: number;
  /** Largest chunk count the search tries when chunks is auto. */
  maxChunks?: number;
}

/** Bytes per element of each state and of activations, by training precision. */
export interface ByteWidths {
  /** Activations and the compute copy of the weights. */
  act: number;
  /** Parameters resident for compute (bf16 copy under mixed precision). */
  weight: number;
  grad: number;
  /** Optimizer states per parameter: fp32 master + AdamW m and v (bf16), or m and v (fp32). */
  optim: number;
  /** Whether the optimizer holds a separate fp32 master copy. */
  masterCopy: boolean;
}

export function byteWidths(precision: 'bf16' | 'fp32'): ByteWidths {
  return precision === 'bf16'
    ? { act: 2, weight: 2, grad: 2, optim: 12, masterCopy: true }
    : { act: 4, weight: 4, grad: 4, optim: 8, masterCopy: false };
}

export interface PlanContext {
  shape: ModelShape;
  gpu: GpuSpec;
  cal: Calibration;
  bytes: ByteWidths;
  torch: TorchBehaviour;
  precision: 'bf16' | 'fp32';
  nodes: number;
  gpusPerNode: number;
  world: number;
  seqLen: number;
  microBatch: number;
  gradAccum: number;
  ringVariant: 'zigzag' | 'contiguous';
  loss: 'chunked' | 'materialized';
  lossChunkTokens: number;
  minChunkTokens: number;
  maxChunks: number;
  /** Dense peak FLOP/s at the run's precision. */
  peakFlops: number;
  capacityBytes: number;
}

export function planContext(config: RunConfig, opts: PlanOptions = {}): PlanContext {
  const shape = modelShape(resolveArchitecture(config.model));
  const gpu = gpuSpec(config.cluster.gpu);
  const precision = config.training.precision;
  const seqLen = opts.seqLen ?? config.training.seq_len;
  if (!Number.isInteger(seqLen) || seqLen < 1)
    throw new Error(`sequence length must be a positive integer, got ${seqLen}`);
  return {
    shape,
    gpu,
    cal: calibrationFor(gpu.id, opts.calibration),
    bytes: byteWidths(precision),
    torch: torchBehaviour(opts.torch),
    precision,
    nodes: config.cluster.nodes,
    gpusPerNode: config.cluster.gpus_per_node,
    world: config.cluster.nodes * config.cluster.gpus_per_node,
    seqLen,
    microBatch: config.training.micro_batch,
    gradAccum: config.training.grad_accum,
    ringVariant: config.parallel.ring_variant,
    loss: opts.loss ?? config.training.loss ?? 'materialized',
    lossChunkTokens: opts.lossChunkTokens ?? config.training.loss_chunk_tokens ?? 1024,
    minChunkTokens: opts.minChunkTokens ?? 1024,
    maxChunks: opts.maxChunks ?? 64,
    peakFlops: (precision === 'bf16' ? gpu.bf16_tflops : gpu.fp32_tflops) * 1e12,
    capacityBytes: gpu.memory_mib * 2 ** 20,
  };
}
