// Per-GPU memory of one layout at one sequence length. docs/planner.md §2-§4 derives every term.
//
// The peak is taken at the larger of two moments, and the breakdown reports each term AT that
// moment, so the terms sum to peak_bytes (that is also what the runtime's memory events measure):
//   loss:           end of forward, LM head + cross-entropy running, every layer's saved tensors alive;
//   layer_backward: backward of the last layer, its tensors rematerialized (checkpointing), the
//                   in-layer gradient transients, and the SP communication buffers in use.
import type { PlanContext } from './context';
import { MEMORY_TERMS, type LayoutChoice, type MemoryTerm } from './types';

/** Bytes saved for backward per local token in one layer, by checkpointing policy. */
export interface ActivationWidths {
  none: number;
  selective: number;
  full: number;
}

/**
 * Per-token, per-layer saved bytes. kvWidth is the K (or V) width a GPU holds after the Ulysses
 * all-to-all: max(kv_heads, ulysses) x head_dim, because when ulysses > kv_heads every rank needs
 * one whole (replicated) KV head for its ulysses-times-longer sequence.
 */
export function activationWidths(ctx: PlanContext, ulysses: number): ActivationWidths {
  return { none: savedWidth(ctx, ulysses, 'none'), selective: savedWidth(ctx, ulysses, 'selective'), full: savedWidth(ctx, ulysses, 'full') };
}

/**
 * One policy's per-token, per-layer saved bytes, for the runtime's block (native/spindle/model):
 * RMSNorm normalises in fp32, ring/local attention saves its fp32 output accumulator, selective
 * checkpointing recomputes the whole SwiGLU MLP. docs/planner.md §3.1 lists every saved tensor.
 */
export function savedWidth(ctx: PlanContext, ulysses: number, policy: LayoutChoice['checkpointing']): number {
  const { hidden: h, qDim, ffn: f, heads, kvHeads, headDim } = ctx.shape;
  const e = ctx.bytes.act;
  const kv = Math.max(kvHeads, ulysses) * headDim;
  if (policy === 'full') return e * h; // only the block's input survives the forward
  // Two RMSNorms, each keeping its fp32 input copy, fp32 normalised output and fp32 1/rms: 2(8h + 4).
  // Their bf16 outputs (inputs of the q/k/v and gate/up projections): 2h. q, k, v after RoPE and
  // the all-to-all: qDim + 2kv. Attention output as the fp32 accumulator (4 qDim) with its fp32
  // log-sum-exp (4 heads), and the o-projection input (qDim).
  const attention = 2 * (8 * h + 4) + e * (2 * h + 2 * qDim + 2 * kv) + 4 * qDim + 4 * heads;
  // selective: the MLP is checkpointed, so only its input (norm 2 output, counted above) is kept.
  if (policy === 'selective') return attention;
  // none: plus gate output, silu(gate), up output and their product (input of down): 4f.
  return attention + e * 4 * f;
}

export interface MemoryEstimate extends Record<MemoryTerm, number> {
  peak: number;
  phase: 'loss' | 'layer_backward';
  /** Host bytes this GPU's offloaded states and activations occupy. */
  hostBytesPerGpu: number;
  /** Activation bytes moved to the host per micro-step (each way). */
  activationOffloadBytes: number;
  /** Bytes per token per layer saved under the layout's policy (for offload traffic and docs). */
  savedPerTokenLayer: number;
}

export function memoryEstimate(ctx: PlanContext, l: LayoutChoice, seqLen: number): MemoryEstimate {
  const m = ctx.shape;
  const B = ctx.bytes;
  const cal = ctx.cal;
  const e = B.act;
  const u = l.ulysses;
  const r = l.ring;
  const world = u * r * l.dp;
  const sl = seqLen / (u * r); // local tokens per sequence
  const T = ctx.microBatch * sl; // local tokens per micro-step
  const kv = Math.max(m.kvHeads, u) * m.headDim;
  const P = m.params;

  // --- model states (§2) -------------------------------------------------------------------
  const zeroShard = l.zero >= 1 ? world : 1;
  const weights = l.zero === 3 ? (l.offload.params ? 0 : (P * B.weight) / world) : P * B.weight;
  const grads = l.zero >= 2 ? (P * B.grad) / world : P * B.grad;
  const optimizer = l.offload.optimizer ? 0 : (P * B.optim) / zeroShard;
  // Offloaded optimizer: states plus the fp32 gradient partition the host AdamW reads.
  let hostBytes = l.offload.optimizer ? (P * (B.optim + 4)) / zeroShard : 0;
  if (l.offload.params) hostBytes += (P * B.weight) / world;

  // --- activations (§3) --------------------------------------------------------------------
  const policy = savedWidth(ctx, u, l.checkpointing);
  const none = l.checkpointing === 'none' ? policy : savedWidth(ctx, u, 'none');
  const offloadAct = l.offload.activations && l.checkpointing !== 'none';
  // With activation offload the GPU keeps a window of two layers (the one in use, the one prefetched).
  const residentLayers = offloadAct ? Math.min(m.layers, 2) : m.layers;
  const saved = residentLayers * policy * T;
  const activationOffloadBytes = offloadAct ? (m.layers - residentLayers) * policy * T : 0;
  if (offloadAct) hostBytes += m.layers * policy * T;
  // During a layer's backward its full set of saved tensors exists again (rematerialized).
  const remat = (none - policy) * T;

  // --- workspace: transients inside one layer's backward (§3.5) ------------------------------
  const chunks = l.chunks;
  const mlpBwd = 3 * m.ffn * e; // d(product), d(up), d(gate)
  // Attention backward: dout and the kernel's dq, dk, dv (compute dtype), the fp32 dq and dK/dV
  // accumulators, the stacked K,V copy the ring loop walks, and the softmax row sums.
  const attnBwd = e * (2 * m.qDim + 2 * kv) + 4 * m.qDim + 8 * kv + e * 2 * kv + 4 * m.heads;
  const rope = T * m.headDim * 8; // fp32 cos and sin tables, full head_dim, per local position
  const workspace = T * (2 * m.hidden * e + Math.max(mlpBwd, attnBwd) / chunks) + rope;

  // --- communication buffers (§4) ------------------------------------------------------------
  const ulyBuf = u > 1 ? (e * T * (m.qDim + 2 * kv)) / chunks : 0; // packed q,k,v all-to-all staging
  // Ring: the incoming K,V block (compute dtype) and the incoming fp32 dK,dV accumulators; the
  // block in hand and this rank's accumulators are attention workspace.
  const ringBuf = r > 1 ? (2 * kv * T * (e + 4)) / chunks : 0;
  const bucket = world > 1 ? cal.grad_bucket_bytes : 0;
  const unitLayer = m.layerParams;
  const unitHead = m.vocab * m.hidden;
  // ZeRO-3 gathers one unit (a block, the embedding or the LM head) and prefetches the next; in
  // backward the unit's unsharded gradient waits for its reduce-scatter.
  const zeroBufLayer = l.zero === 3 ? 2 * unitLayer * B.weight + unitLayer * B.grad : bucket;
  const zeroBufLoss = l.zero === 3 ? unitHead * (B.weight + B.grad) + unitLayer * B.weight : bucket;

  // --- logits and loss (§3.6) ----------------------------------------------------------------
  // Materialized (what the runtime does): at the start of backward, the fp32 log-softmax output
  // cross-entropy saved, its incoming gradient and the gradient it produces: 12 B per logit.
  // Chunked: one chunk's logits, their fp32 copy and fp32 gradient.
  const perLogit = ctx.loss === 'chunked' ? e + (e < 4 ? 4 : 0) + 4 : 12;
  const lossTokens = ctx.loss === 'chunked' ? Math.min(T, ctx.lossChunkTokens) : T;
  // plus final-norm input and output and the gradient of the head input.
  const logits = lossTokens * m.vocab * perLogit + 3 * T * m.hidden * e;

  // --- fixed costs (§5) ----------------------------------------------------------------------
  const groups = (u > 1 ? 1 : 0) + (r > 1 ? 1 : 0) + (world > 1 ? 1 : 0);
  const nccl = cal.nccl_base_bytes + groups * cal.nccl_per_group_bytes;
  const framework = cal.framework_bytes;

  const states = weights + grads + optimizer;
  const lossPhase = states + saved + logits + zeroBufLoss + rope;
  const layerPhase = states + saved + remat + workspace + ulyBuf + ringBuf + zeroBufLayer;
  const atLoss = lossPhase > layerPhase;
  const allocated = atLoss ? lossPhase : layerPhase;
  const fragmentation = cal.fragmentation_fraction * allocated;

  return {
    weights,
    grads,
    optimizer,
    activations: atLoss ? saved : saved + remat,
    logits: atLoss ? logits : 0,
    comm_buffers: atLoss ? zeroBufLoss : ulyBuf + ringBuf + zeroBufLayer,
    workspace: atLoss ? rope : workspace,
    framework,
    nccl,
    fragmentation,
    peak: allocated + fragmentation + framework + nccl,
    phase: atLoss ? 'loss' : 'layer_backward',
    hostBytesPerGpu: hostBytes,
    activationOffloadBytes,
    savedPerTokenLayer: policy,
  };
}

export function termsOf(mem: MemoryEstimate): Record<MemoryTerm, number> {
  const out = {} as Record<MemoryTerm, number>;
  for (const t of MEMORY_TERMS) out[t] = mem[t];
  return out;
}
