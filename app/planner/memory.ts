// Per-GPU memory of one layout at one sequence length. docs/planner.md §2-§5 derives every term.
//
// Model states (weights, grads, optimizer, comm_buffers) are the largest bytes of their kind the
// runtime's optimizer holds at once during the step, counted at that size at every moment. The
// sequence-dependent terms are taken at two moments, and the breakdown reports each term AT the
// larger one, so the terms sum to peak_bytes (the runtime's memory events measure the same):
//   loss:           end of forward through the start of the loss backward: every layer's saved
//                   tensors alive, plus what the final norm, LM head and loss add at their peak;
//   layer_backward: backward of the last block: every layer's saved tensors, the block's
//                   rematerialized tensors (checkpointing), its gradient transients and the SP
//                   communication staging.
// Widths follow what the runtime (native/spindle, model/llama.py, attention/, train/loss.py,
// optim/) allocates, checked per term against its measurements (docs/planner.md, validation).
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
  return {
    none: savedWidth(ctx, ulysses, 'none'),
    selective: savedWidth(ctx, ulysses, 'selective'),
    full: savedWidth(ctx, ulysses, 'full'),
  };
}

/**
 * What one RMSNorm keeps per token: it normalises in fp32, keeping the fp32 copy of its input (for
 * the square; in fp32 runs that is the input itself), the fp32 normalised value (for the weight
 * multiply) and fp32 1/rms; torch < 2 also keeps the squared input (mean's backward).
 */
export function normSavedWidth(ctx: PlanContext): number {
  const h = ctx.shape.hidden;
  return 8 * h + 4 + (ctx.torch.meanSavesInput ? 4 * h : 0);
}

/**
 * One policy's per-token, per-layer saved bytes, for the runtime's block (native/spindle/model):
 * RMSNorm normalises in fp32, ring/local attention saves its fp32 output accumulator, selective
 * checkpointing recomputes the whole SwiGLU MLP. docs/planner.md §3.1 lists every saved tensor.
 */
export function savedWidth(
  ctx: PlanContext,
  ulysses: number,
  policy: LayoutChoice['checkpointing'],
): number {
  const { hidden: h, qDim, ffn: f, heads, kvHeads, headDim } = ctx.shape;
  const e = ctx.bytes.act;
  const kv = Math.max(kvHeads, ulysses) * headDim;
  if (policy === 'full') return e * h; // only the block's input survives the forward
  // Two RMSNorms (normSavedWidth each). Their outputs in the compute dtype (inputs of the q/k/v
  // and gate/up projections): 2h. q, k, v after RoPE and the all-to-all: qDim + 2kv. Attention
  // output as the fp32 accumulator (4 qDim) with its fp32 log-sum-exp (4 heads), and the
  // o-projection input (qDim).
  const attention =
    2 * normSavedWidth(ctx) + e * (2 * h + 2 * qDim + 2 * kv) + 4 * qDim + 4 * heads;
  // selective: the MLP is checkpointed, so only its input (norm 2 output, counted above) is kept.
  if (policy === 'selective') return attention;
  // none: plus gate output, silu(gate), up output and their product (input of down): 4f.
  return attention + e * 4 * f;
}

/** ZeRO-3 units as the runtime shards them (optim/zero3.py): parameters per unit. */
export function zero3Units(ctx: PlanContext): { embed: number; block: number; head: number } {
  const m = ctx.shape;
  return { embed: m.embeddingParams, block: m.layerParams, head: m.finalNormParams + m.headParams };
}

/** n rounded up to a multiple of world (the runtime pads flat buffers so shards are equal). */
const padTo = (n: number, world: number) => Math.ceil(n / world) * world;

export interface ModelStates {
  weights: number;
  grads: number;
  optimizer: number;
  comm_buffers: number;
  /** Optimizer states and fp32 gradient partition in host memory (optimizer offload). */
  hostOptimizer: number;
  /** Parameter shard in host memory (parameter offload). */
  hostParams: number;
}

/**
 * Model states per GPU as the runtime's optimizer (native/spindle/optim) allocates them, each the
 * largest bytes of its kind held at once during the step (docs/planner.md §2.1).
 */
export function modelStates(ctx: PlanContext, l: LayoutChoice): ModelStates {
  const B = ctx.bytes;
  const P = ctx.shape.params;
  const world = l.ulysses * l.ring * l.dp;
  // fp32 master + m + v (bf16), or m + v (fp32: the weights are the master).
  const optimPer = B.optim;
  if (l.zero === 3) {
    // Each unit (embedding, every block, head) is one flat buffer padded to a multiple of the
    // world; a rank holds 1/world of each.
    const u = zero3Units(ctx);
    const L = ctx.shape.layers;
    const pe = padTo(u.embed, world);
    const pb = padTo(u.block, world);
    const ph = padTo(u.head, world);
    const shard = (pe + L * pb + ph) / world;
    // The gradients: the fp32 shard accumulator, plus while one unit reduces, its unsharded
    // gradients (compute dtype) and the fp32 flat buffer they are reduce-scattered from.
    const unitGrad = Math.max(
      B.grad * u.embed + 4 * pe,
      B.grad * u.block + 4 * pb,
      B.grad * u.head + 4 * ph,
    );
    // Gathered full units: one at a time (no prefetch); the tied head also gathers the embedding.
    const gathered = B.weight * Math.max(pe, pb, ctx.shape.tied ? ph + pe : ph);
    return {
      weights: l.offload.params ? 0 : B.weight * shard,
      grads: 4 * shard + unitGrad,
      optimizer: l.offload.optimizer ? 0 : optimPer * shard,
      comm_buffers: gathered,
      hostOptimizer: l.offload.optimizer ? (optimPer + 4) * shard : 0,
      hostParams: l.offload.params ? B.weight * shard : 0,
    };
  }
  // ZeRO 0-2: every parameter is a view into one flat buffer padded to a multiple of the world.
  const padded = padTo(P, world);
  const owned = l.zero >= 1 ? padded / world : padded;
  return {
    weights: B.weight * padded,
    // .grad of every parameter (compute dtype) until the optimizer step; ZeRO-2 reduce-scatters
    // them after each micro-step's backward into an fp32 shard accumulator.
    grads: B.grad * P + (l.zero === 2 ? (4 * padded) / world : 0),
    optimizer: l.offload.optimizer ? 0 : optimPer * owned,
    // The step flattens every gradient into one fp32 buffer for the reduction.
    comm_buffers: 4 * padded,
    hostOptimizer: l.offload.optimizer ? (optimPer + 4) * owned : 0,
    hostParams: 0,
  };
}

export type Phase = 'loss' | 'layer_backward';

export interface MemoryEstimate extends Record<MemoryTerm, number> {
  peak: number;
  phase: Phase;
  /** Every term at each moment (the breakdown is the `phase` one). */
  phases: Record<Phase, Record<MemoryTerm, number>>;
  /** Host bytes this GPU's offloaded states and activations occupy. */
  hostBytesPerGpu: number;
  /** Activation bytes moved to the host per micro-step (each way). */
  activationOffloadBytes: number;
  /** Bytes per token per layer saved under the layout's policy (for offload traffic and docs). */
  savedPerTokenLayer: number;
  /** Bytes one layer keeps for backward (the runtime reports each layer's). */
  savedPerLayer: number;
  /** Bytes the embedding keeps for backward (its int64 token ids). */
  savedEmbedding: number;
  /** Bytes the last block's recompute adds at layer_backward. */
  remat: number;
}

/**
 * What the final norm, LM head and loss add on top of the saved activations, at their peak
 * (docs/planner.md §3.6), for the runtime's train/loss.py.
 */
export function lossBytes(ctx: PlanContext, l: LayoutChoice, T: number): number {
  const m = ctx.shape;
  const e = ctx.bytes.act;
  const h = m.hidden;
  const V = m.vocab;
  const bf16 = e < 4;
  const zero3 = l.zero === 3;
  // The final norm's working set beyond its input: the fp32 copy (which in bf16 runs replaces a
  // compute-dtype input freed before the peak, net 4h - e h, and in fp32 runs is the input), the
  // normalised value, 1/rms, [the squared input], and its output in the compute dtype: in total
  // normSavedWidth per token either way; bf16 runs also hold the fp32 copy of its weight.
  const norm = T * normSavedWidth(ctx) + (bf16 ? 4 * h : 0);
  // A ZeRO-3 gathered head call keeps its input (the last block's output) until its backward;
  // in bf16 runs that is a tensor the norm does not keep.
  const keptInput = zero3 && bf16 ? e * h * T : 0;
  if (ctx.loss === 'materialized') {
    // The peak is the start of cross-entropy's backward: its saved fp32 log-softmax, the incoming
    // fp32 gradient and the one it produces, 12 B per logit.
    return 12 * T * V + norm + keptInput;
  }
  // Chunked (ChunkedHeadLoss): dL/dh (compute dtype) and dL/dW (fp32) are kept from the forward.
  // Forward peak, inside one chunk of n tokens, at the larger of: the fp32 logits with the
  // log-sum-exp temporary of the same size (8 B per logit + 8 B per token), or the dW update: fp32
  // chunk gradient, its compute-dtype copy, the chunk's dW product and its fp32 copy. In bf16 the
  // last block's output is still referenced while the chunks run. ZeRO-3 has the head gathered.
  const n = Math.min(T, ctx.lossChunkTokens);
  const kept = e * h * T + 4 * V * h;
  const logsumexp = 8 * n * V + 8 * n;
  const dW = 4 * n * V + (bf16 ? e * n * V + (e + 4) * V * h : 4 * V * h);
  const headPad = zero3 ? padTo(m.finalNormParams + m.headParams, l.ulysses * l.ring * l.dp) : 0;
  const gatheredHead = zero3
    ? ctx.bytes.weight *
      (headPad + (m.tied ? padTo(m.embeddingParams, l.ulysses * l.ring * l.dp) : 0))
    : 0;
  const fwd = norm + (bf16 ? e * h * T : 0) + kept + Math.max(logsumexp, dW) + gatheredHead;
  // Backward: the kept gradients scaled by the incoming one (new dL/dh, and dL/dW in fp32 then in
  // the weight dtype); under ZeRO-3 the head's fp32 reduce-scatter buffer too.
  const bwd =
    norm +
    kept +
    e * h * T +
    4 * V * h +
    (bf16 ? e * V * h : 0) +
    keptInput +
    (zero3 ? 4 * headPad : 0);
  return Math.max(fwd, bwd, finalNormBackwardFp32(ctx, l, T));
}

/**
 * With small loss chunks the loss moment's peak is the final norm's backward (fp32, measured under
 * torch 2.11 with native/tools/trace_step.py): alive are its saved normalised value and 1/rms,
 * dL/dh and the head's .grad, plus three T x h fp32 temporaries at once in the backward of the
 * squared input (pow's), less the 1/rms it no longer needs: 20 B x hidden per token + 4 V h.
 * bf16 and ZeRO-3 runs keep other tensors there and are not modelled by this term (0).
 */
function finalNormBackwardFp32(ctx: PlanContext, l: LayoutChoice, T: number): number {
  if (ctx.bytes.act < 4 || l.zero === 3) return 0;
  return 20 * T * ctx.shape.hidden + ctx.bytes.grad * ctx.shape.vocab * ctx.shape.hidden;
}

export function memoryEstimate(ctx: PlanContext, l: LayoutChoice, seqLen: number): MemoryEstimate {
  const m = ctx.shape;
  const cal = ctx.cal;
  const e = ctx.bytes.act;
  const h = m.hidden;
  const u = l.ulysses;
  const r = l.ring;
  const world = u * r * l.dp;
  const sl = seqLen / (u * r); // local tokens per sequence
  const T = ctx.microBatch * sl; // local tokens per micro-step
  const kv = Math.max(m.kvHeads, u) * m.headDim;
  const bf16 = e < 4;

  // --- model states (§2.1) -------------------------------------------------------------------
  const states = modelStates(ctx, l);
  let hostBytes = states.hostOptimizer + states.hostParams;

  // --- activations (§3) ----------------------------------------------------------------------
  const policy = savedWidth(ctx, u, l.checkpointing);
  const none = l.checkpointing === 'none' ? policy : savedWidth(ctx, u, 'none');
  // bf16 runs keep the fp32 copies of both norm weights in every layer that is not checkpointed.
  const normWeights = bf16 && l.checkpointing !== 'full' ? 2 * 4 * h : 0;
  // A ZeRO-3 gathered block call keeps its input, which the block itself keeps only when it is
  // checkpointed (full) or, in fp32 runs, as the first norm's input.
  const zero3Input = l.zero === 3 && l.checkpointing !== 'full' && bf16 ? e * h : 0;
  const savedPerLayer = (policy + zero3Input) * T + normWeights;
  const offloadAct = l.offload.activations && l.checkpointing !== 'none';
  // With activation offload the GPU keeps a window of two layers (the one in use, the one prefetched).
  const residentLayers = offloadAct ? Math.min(m.layers, 2) : m.layers;
  const savedEmbedding = 8 * T; // the embedding's backward keeps the int64 token ids
  const saved = residentLayers * savedPerLayer + savedEmbedding;
  const activationOffloadBytes = offloadAct ? (m.layers - residentLayers) * savedPerLayer : 0;
  if (offloadAct) hostBytes += m.layers * savedPerLayer;
  // The last block's backward first recomputes its checkpointed part, which saves its tensors
  // again next to everything kept: full, the whole block (its norm weight copies included) except
  // what is the kept input itself (the first norm's fp32 input, in fp32 runs); selective, the MLP.
  let remat = 0;
  if (l.checkpointing === 'full')
    remat = none * T + (bf16 ? 2 * 4 * h : 0) - (bf16 ? 0 : e * h * T);
  if (l.checkpointing === 'selective') remat = (none - policy) * T;

  // --- workspace: transients inside one layer's backward (§3.5) ------------------------------
  const chunks = l.chunks;
  const mlpBwd = 3 * m.ffn * e; // d(product), d(up), d(gate)
  // Attention backward: dout and the kernel's dq, dk, dv (compute dtype), the fp32 dq and dK/dV
  // accumulators, the stacked K,V copy the ring loop walks, and the softmax row sums.
  const attnBwd = e * (2 * m.qDim + 2 * kv) + 4 * m.qDim + 8 * kv + e * 2 * kv + 4 * m.heads;
  const rope = T * m.headDim * 8; // fp32 cos and sin tables, full head_dim, per local position
  // SP staging (§4): the packed q,k,v all-to-all buffer; the ring's incoming K,V (compute dtype)
  // and fp32 dK,dV blocks.
  const ulyBuf = u > 1 ? (e * T * (m.qDim + 2 * kv)) / chunks : 0;
  const ringBuf = r > 1 ? (2 * kv * T * (e + 4)) / chunks : 0;
  const workspace = T * (2 * h * e + Math.max(mlpBwd, attnBwd) / chunks) + rope + ulyBuf + ringBuf;

  // --- logits and loss (§3.6) ----------------------------------------------------------------
  const logits = lossBytes(ctx, l, T);

  // --- fixed costs (§5) ----------------------------------------------------------------------
  const groups = (u > 1 ? 1 : 0) + (r > 1 ? 1 : 0) + (world > 1 ? 1 : 0);
  const nccl = cal.nccl_base_bytes + groups * cal.nccl_per_group_bytes;
  const framework = cal.framework_bytes;

  // Allocator-managed bytes at each moment; the fixed costs and the fragmentation margin on top.
  const statesBytes = states.weights + states.grads + states.optimizer + states.comm_buffers;
  const atLossBytes = statesBytes + saved + logits + rope;
  const atLayerBytes = statesBytes + saved + remat + workspace;
  const frag = cal.fragmentation_fraction;
  const loss: Record<MemoryTerm, number> = {
    weights: states.weights,
    grads: states.grads,
    optimizer: states.optimizer,
    activations: saved,
    logits,
    comm_buffers: states.comm_buffers,
    workspace: rope,
    framework,
    nccl,
    fragmentation: frag * atLossBytes,
  };
  const layer: Record<MemoryTerm, number> = {
    weights: states.weights,
    grads: states.grads,
    optimizer: states.optimizer,
    activations: saved + remat,
    logits: 0,
    comm_buffers: states.comm_buffers,
    workspace,
    framework,
    nccl,
    fragmentation: frag * atLayerBytes,
  };
  const atLoss = atLossBytes > atLayerBytes;
  const at = atLoss ? loss : layer;
  const allocated = atLoss ? atLossBytes : atLayerBytes;
  return {
    weights: at.weights,
    grads: at.grads,
    optimizer: at.optimizer,
    activations: at.activations,
    logits: at.logits,
    comm_buffers: at.comm_buffers,
    workspace: at.workspace,
    framework,
    nccl,
    fragmentation: at.fragmentation,
    peak: allocated + at.fragmentation + framework + nccl,
    phase: atLoss ? 'loss' : 'layer_backward',
    phases: { loss, layer_backward: layer },
    hostBytesPerGpu: hostBytes,
    activationOffloadBytes,
    savedPerTokenLayer: policy,
    savedPerLayer,
    savedEmbedding,
    remat,
  };
}

export function termsOf(mem: MemoryEstimate): Record<MemoryTerm, number> {
  const out = {} as Record<MemoryTerm, number>;
  for (const t of MEMORY_TERMS) out[t] = mem[t];
  return out;
}
