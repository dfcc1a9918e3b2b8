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

/** One policy's per-token, per-layer saved bytes (see activationWidths). */
export function savedWidth(ctx: PlanContext, ulysses: number, policy: LayoutChoice['checkpointing']): number {
  const { hidden: h, qDim, ffn: f, heads, kvHeads, headDim } = ctx.shape;
  const e = ctx.bytes.act;
  const kv = Math.max(kvHeads, ulysses) * headDim;
  // none: norm1 in+out (2h), q k v after RoPE and the all-to-all (qDim + 2kv), attention out and
  // o-proj input (2 qDim), norm2 in+out (2h), SwiGLU gate, silu(gate), up, product (4f);
  // fp32: log-sum-exp per head, two RMSNorm reciprocal-rms values.
  if (policy === 'none') return e * (4 * h + 3 * qDim + 2 * kv + 4 * f) + 4 * (heads + 2);
  // selective: norms and the SwiGLU activation are recomputed from their inputs, which are
  // saved anyway (layer input, residual after attention, gate and up): drop 2h + 2f and the rstds.
  if (policy === 'selective') return e * (2 * h + 3 * qDim + 2 * kv + 2 * f) + 4 * heads;
  // full: only the block's input survives the forward.
  return e * h;
}

/** Flat on purpose: the search builds one of these per candidate. termsOf() gives the record. */
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
  // dout and dq, dk, dv (bf16), the fp32 dq accumulator and the softmax row sums.
  const attnBwd = e * (2 * m.qDim + 2 * kv) + 4 * m.qDim + 4 * m.heads;
  const rope = sl * m.headDim * 4; // fp32 cos and sin tables for the local positions
  const workspace = T * (2 * m.hidden * e + Math.max(mlpBwd, attnBwd) / chunks) + rope;

  // --- communication buffers (§4) ------------------------------------------------------------
  const ulyBuf = u > 1 ? (e * T * (m.qDim + 2 * kv)) / chunks : 0; // packed q,k,v all-to-all staging
  // Ring: current + incoming K,V block (compute dtype) and dK,dV accumulators travelling in fp32.
  const ringBuf = r > 1 ? (2 * 2 * kv * T * (e + 4)) / chunks : 0;
  const bucket = world > 1 ? cal.grad_bucket_bytes : 0;
  const unitLayer = m.layerParams;
  const unitHead = m.vocab * m.hidden;
  // ZeRO-3 gathers one unit (a block, the embedding or the LM head) and prefetches the next; in
  // backward the unit's unsharded gradient waits for its reduce-scatter.
  const zeroBufLayer = l.zero === 3 ? 2 * unitLayer * B.weight + unitLayer * B.grad : bucket;
  const zeroBufLoss = l.zero === 3 ? unitHead * (B.weight + B.grad) + unitLayer * B.weight : bucket;

  // --- logits and loss (§3.6) ----------------------------------------------------------------
  const lossTokens = ctx.loss === 'chunked' ? Math.min(T, ctx.lossChunkTokens) : T;
  const upcast = e < 4 ? 4 : 0; // fp32 copy of the logits for a stable cross-entropy
  // logits, fp32 copy, fp32 gradient; plus final-norm input, output and the gradient of the head input.
  const logits = lossTokens * m.vocab * (e + upcast + 4) + 3 * T * m.hidden * e;

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
