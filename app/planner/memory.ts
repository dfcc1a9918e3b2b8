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
  /** The step's allocated peak over all of its moments (§2.2), and the moment it falls in. */
  stepAllocated: number;
  stepMoment: StepMoment;
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
  return Math.max(fwd, bwd, finalNormBackward(ctx, l, T));
}

/**
 * The loss moment's last candidate: the final norm's backward, after the head's. Alive then: what
 * the norm saved (its normalised value and 1/rms; bf16 also its fp32 input and weight copy, while
 * the block's bf16 output is gone), the head's .grad and dL/dh, then the norm's own backward
 * transients (normBackward). With small loss chunks it is the loss moment's peak. ZeRO-3's gathered
 * head call is not modelled here (its reduce happens after).
 */
function finalNormBackward(ctx: PlanContext, l: LayoutChoice, T: number): number {
  if (l.zero === 3) return 0;
  const m = ctx.shape;
  const e = ctx.bytes.act;
  const h = m.hidden;
  const X = e * T * h;
  const start =
    (e < 4 ? 4 * T * h + 4 * h - X : 0) + 4 * T * h + 4 * T + ctx.bytes.grad * m.vocab * h + X;
  const key = `${T} ${h} ${e} ${ctx.bytes.weight}`;
  let peak = finalNormMemo.get(key);
  if (peak === undefined) {
    const t = new Tape();
    normBackward(
      t,
      { T, h, e, w: ctx.bytes.weight, accumulate: false } as BlockDims,
      false,
      false,
      true,
    );
    peak = t.peak;
    if (finalNormMemo.size > 10_000) finalNormMemo.clear();
    finalNormMemo.set(key, peak);
  }
  return start + peak;
}
const finalNormMemo = new Map<string, number>();

// ---- §3.5 The last block's backward, allocation by allocation ---------------------------------
//
// `workspace` at layer_backward is what the runtime's accounting measures in the last block's
// backward: the allocated peak of that window above its start, less the block's recompute and the
// .grad tensors of its parameters. Those come and go in a fixed order (autograd nodes, their
// outputs and temporaries, the saved tensors each releases), so the model replays that order on a
// Tape and takes the running maximum. Every event names the runtime tensor it stands for
// (native/spindle: model/llama.py, attention/*.py, optim/zero3.py); tensors of fewer than T bytes
// (index bookkeeping, scalars) are left out.

/** Segments already replayed, by key: their peak and net change above their start, and result. */
export type SegmentCache = Map<string, { peak: number; net: number; value: unknown }>;

/** Live bytes over a sequence of allocations and frees, with their running maximum. */
export class Tape {
  live = 0;
  peak = 0;
  /** Every event, when recording (tests and diagnostics). */
  log: { what: string; bytes: number; live: number }[] | null;
  /** Profiles of repeated segments (a kernel call, a ring step), shared by related tapes. */
  readonly cache: SegmentCache;
  /** The ring rank a recording replays (a replay without a log takes every rank's largest). */
  rank = 0;
  constructor(record = false, cache: SegmentCache = new Map()) {
    this.log = record ? [] : null;
    this.cache = cache;
  }
  alloc(bytes: number, what: string): void {
    if (bytes <= 0) return;
    this.live += bytes;
    if (this.live > this.peak) this.peak = this.live;
    this.log?.push({ what, bytes, live: this.live });
  }
  free(bytes: number, what: string): void {
    if (bytes <= 0) return;
    this.live -= bytes;
    this.log?.push({ what, bytes: -bytes, live: this.live });
  }
  /** A value computed once per key for the tapes sharing this cache. */
  memo<V>(key: string, make: () => V): V {
    const p = this.cache.get(key);
    if (p) return p.value as V;
    const value = make();
    this.cache.set(key, { peak: 0, net: 0, value });
    return value;
  }
  /** Run a segment that depends only on `key`: replayed once, then applied as (peak, net change). */
  segment<V>(key: string, run: (t: Tape) => V): V {
    if (this.log) return run(this);
    const p = this.cache.get(key);
    if (p) {
      if (this.live + p.peak > this.peak) this.peak = this.live + p.peak;
      this.live += p.net;
      return p.value as V;
    }
    const start = this.live;
    const before = this.peak;
    this.peak = start;
    const value = run(this);
    this.cache.set(key, { peak: this.peak - start, net: this.live - start, value });
    if (before > this.peak) this.peak = before;
    return value;
  }
}

/** The CPU flash kernel splits queries and keys into tiles (ATen's cpu FlashAttentionKernel). */
const cpuQuerySplit = (Lq: number) => Math.min(Lq, Lq >= 768 ? 256 : Lq >= 192 ? 64 : 32);
const cpuKeySplit = (Lk: number) => Math.min(Lk, 512);
/**
 * Threads each process runs the CPU kernel with: its scratch is per thread. The validation grid
 * runs one thread per process (native/tests/dist_util.py); docs/planner.md §3.5.
 */
export const CPU_ATTENTION_THREADS = 1;
/** The CPU generator's state a checkpointed region stashes and restores around its recompute. */
const RNG_STATE_BYTES = 5056;

/** One rank's view of the last block: sizes in elements unless named bytes. */
export interface BlockDims {
  /** Rows of the micro-batch, local tokens per row, local tokens. */
  B: number;
  Ls: number;
  T: number;
  /** Bytes of the compute dtype, of a weight (and its gradient). */
  e: number;
  w: number;
  h: number;
  q: number;
  kvd: number;
  f: number;
  d: number;
  /** Ulysses degree; query and KV heads one rank attends with; tokens per row after the all-to-all. */
  U: number;
  hq: number;
  hk: number;
  L: number;
  /** K and V are repeated to U heads before the all-to-all (kv_heads < ulysses). */
  replicate: boolean;
  R: number;
  zigzag: boolean;
  c: number;
  /** Packed documents cut every attention block (each gets a mask). */
  masked: boolean;
  threads: number;
  /** CPU processes: PyTorch's flash kernel for CPU, gloo collectives (which move bf16 as fp32). */
  cpu: boolean;
  /** Bytes an element of the compute dtype takes on the wire: 4 on gloo for bf16, else e. */
  wire: number;
  /** A later micro-step of ZeRO-0/1: each weight gradient is added into the .grad that exists. */
  accumulate: boolean;
  /** Parameters of the block, and its ZeRO-3 unit padded to the world (0 when not ZeRO-3). */
  P: number;
  unitPad: number;
  world: number;
}

/**
 * Ring rank r's shard (per row) is one or two runs of consecutive positions: zigzag gives rank r
 * chunks r and 2R-1-r of 2R, contiguous the r-th of R. Run k of rank r: its first index in the
 * shard, its length, its first position.
 */
function runCount(s: BlockDims): number {
  return s.zigzag && s.R > 1 ? 2 : 1;
}
function runStart(s: BlockDims, k: number): number {
  return k === 0 ? 0 : s.L / 2;
}
function runLength(s: BlockDims): number {
  return runCount(s) === 2 ? s.L / 2 : s.L;
}
function runPos(s: BlockDims, r: number, k: number): number {
  if (runCount(s) === 1) return r * s.L;
  const m = s.L / 2;
  return k === 0 ? r * m : (2 * s.R - 1 - r) * m;
}

/** Global position of index i of ring rank r's shard (positions increase along a shard). */
function shardPos(s: BlockDims, r: number, i: number): number {
  const k = runCount(s) === 2 && i >= s.L / 2 ? 1 : 0;
  return runPos(s, r, k) + (i - runStart(s, k));
}

/** The first index in [a, b) of rank r's shard at position >= v (b when none). */
function firstAtLeast(s: BlockDims, r: number, a: number, b: number, v: number): number {
  for (let k = 0; k < runCount(s); k++) {
    const i0 = runStart(s, k);
    const p = runPos(s, r, k);
    const lo = Math.max(a, i0);
    const hi = Math.min(b, i0 + runLength(s));
    if (lo >= hi || p + (hi - 1 - i0) < v) continue;
    return Math.max(lo, i0 + (v - p));
  }
  return b;
}

/** One past the last index in [a, b) of rank r's shard at position <= v (a when none). */
function endAtMost(s: BlockDims, r: number, a: number, b: number, v: number): number {
  let end = a;
  for (let k = 0; k < runCount(s); k++) {
    const i0 = runStart(s, k);
    const p = runPos(s, r, k);
    const lo = Math.max(a, i0);
    const hi = Math.min(b, i0 + runLength(s));
    if (lo >= hi || p + (lo - i0) > v) continue;
    end = Math.min(hi, i0 + (v - p) + 1);
  }
  return end;
}

export interface AttnBlock {
  q0: number;
  q1: number;
  k0: number;
  k1: number;
  /** 'full': every query sees every key; 'causal': the same positions; null: needs a mask. */
  kind: 'full' | 'causal' | null;
}

/**
 * The part of (queries [qa, qb) of rank me's shard) x (keys [ka, kb) of rank src's) that any
 * query may see (attention/meta.py active_range), for one causal document, or null.
 */
export function activeBlock(
  s: BlockDims,
  me: number,
  src: number,
  qa: number,
  qb: number,
  ka: number,
  kb: number,
): AttnBlock | null {
  const kmin = shardPos(s, src, ka);
  const qmax = shardPos(s, me, qb - 1);
  if (qmax < kmin) return null;
  // the active rows are a suffix of the queries, the active keys a prefix
  const q0 = firstAtLeast(s, me, qa, qb, kmin);
  const k1 = endAtMost(s, src, ka, kb, qmax);
  const full = shardPos(s, src, k1 - 1) <= shardPos(s, me, q0);
  const causal = me === src && q0 === ka && qb === k1;
  return { q0, q1: qb, k0: ka, k1, kind: full ? 'full' : causal ? 'causal' : null };
}

/** sdpa_cpu._mask for a block documents cut: the boolean mask, its row summary, the additive mask. */
function maskAlloc(t: Tape, s: BlockDims, Lq: number, Lk: number): void {
  const n = s.B * Lq * Lk;
  t.alloc(n, 'same document');
  t.alloc(n, 'causal');
  t.alloc(n, 'allowed');
  t.free(n, 'same document');
  t.free(n, 'causal');
  t.alloc(s.B * Lq, 'rows with a key');
  t.alloc(4 * n, 'additive mask');
  t.free(n, 'allowed');
}

/**
 * Backward of one attention block (attention/sdpa_cpu.py backward, on the slices ring.py and
 * chunked.py hand it). Returns the bytes of (dq, dk, dv) it hands back, which the caller frees
 * when the next block's replace them.
 */
function kernelBackward(
  tape: Tape,
  s: BlockDims,
  b: AttnBlock,
  o: { outSliced: boolean; masked: boolean },
): number {
  const key = `bwd ${b.q1 - b.q0} ${b.k1 - b.k0} ${o.outSliced} ${o.masked}`;
  return tape.segment(key, (t) => kernelBackwardEvents(t, s, b, o));
}

function kernelBackwardEvents(
  t: Tape,
  s: BlockDims,
  b: AttnBlock,
  o: { outSliced: boolean; masked: boolean },
): number {
  const Lq = b.q1 - b.q0;
  const Lk = b.k1 - b.k0;
  const Q = 4 * s.B * s.hq * Lq * s.d; // fp32, query-shaped
  const K = 4 * s.B * s.hk * Lk * s.d; // fp32, key-shaped, the rank's KV heads
  const Kx = 4 * s.B * s.hq * Lk * s.d; // fp32, key-shaped, repeated to the query heads
  const lse = 4 * s.B * s.hq * Lq;
  const bf16 = s.e < 4;
  const expand = s.hk !== s.hq;
  if (!s.cpu) return gpuKernelBackward(t, s, Lq, Lk, o.masked);
  if (o.masked) maskAlloc(t, s, Lq, Lk);
  t.alloc(lse, 'log-sum-exp, empty rows zeroed');
  if (bf16) t.alloc(Q, 'dout in fp32');
  t.alloc(Q, 'dout, contiguous');
  if (bf16) t.free(Q, 'dout in fp32');
  if (bf16) t.alloc(Q, 'q in fp32');
  for (let x = 0; x < 2; x++) {
    // k, then v
    if (bf16) t.alloc(K, 'k or v in fp32');
    if (expand) t.alloc(Kx, 'k or v repeated to the query heads');
    if (bf16 && expand) t.free(K, 'k or v in fp32');
  }
  if (o.outSliced) t.alloc(Q, 'out rows, contiguous');
  t.alloc(Q, 'kernel: dq');
  t.alloc(Kx, 'kernel: dk');
  t.alloc(Kx, 'kernel: dv');
  t.alloc(Q, 'kernel: query-sized buffer');
  const scratch = s.threads * 2 * cpuQuerySplit(Lq) * cpuKeySplit(Lk) * 4;
  t.alloc(scratch, 'kernel: per-thread scratch');
  t.alloc(4 * cpuQuerySplit(Lq), 'kernel: row sums');
  t.free(4 * cpuQuerySplit(Lq), 'kernel: row sums');
  t.free(scratch, 'kernel: per-thread scratch');
  t.free(Q, 'kernel: query-sized buffer');
  t.free(Q, 'dout, contiguous');
  if (bf16) t.free(Q, 'q in fp32');
  const kCopy = expand ? Kx : bf16 ? K : 0;
  t.free(kCopy, 'k copy');
  t.free(kCopy, 'v copy');
  if (o.outSliced) t.free(Q, 'out rows, contiguous');
  if (expand) {
    t.alloc(K, 'dk summed over the repeats');
    t.alloc(K, 'dv summed over the repeats');
  }
  t.free(lse, 'log-sum-exp, empty rows zeroed');
  if (expand) {
    t.free(Kx, 'kernel: dk');
    t.free(Kx, 'kernel: dv');
  }
  if (o.masked) {
    t.free(4 * s.B * Lq * Lk, 'additive mask');
    t.free(s.B * Lq, 'rows with a key');
  }
  return Q + 2 * (expand ? K : Kx);
}

/**
 * A GPU block's backward as attention/fused.py runs it (derived from the code, not measured):
 * flash-attn on [B, L, H, D] copies of q, k, v, dout and out (GQA without repeating K,V), its fp32
 * dq accumulator, then fp32 copies of dq, dk, dv. A block documents cut goes to the efficient
 * kernel, which takes an additive bias (compute dtype, rows padded to 16) and repeated K,V.
 */
function gpuKernelBackward(t: Tape, s: BlockDims, Lq: number, Lk: number, masked: boolean): number {
  const e = s.e;
  const q = s.B * s.hq * Lq * s.d;
  const kv = s.B * (masked ? s.hq : s.hk) * Lk * s.d;
  const bias = masked ? e * s.B * Lq * Math.ceil(Lk / 16) * 16 : 0;
  if (masked) t.alloc(s.B * Lq * Lk, 'allowed');
  t.alloc(bias, 'additive bias');
  t.alloc(e * q + 2 * e * kv, 'q, k, v in the kernel layout');
  t.alloc(2 * e * q, 'dout, out in the compute dtype');
  t.alloc(4 * s.B * s.hq * Lq, 'log-sum-exp, contiguous');
  t.alloc(e * q + 2 * e * kv, 'kernel: dq, dk, dv');
  t.alloc(4 * q + 4 * s.B * s.hq * Lq, 'kernel: fp32 dq accumulator, row sums');
  t.free(4 * q + 4 * s.B * s.hq * Lq, 'kernel: fp32 dq accumulator, row sums');
  const out = 4 * q + 2 * 4 * s.B * s.hk * Lk * s.d;
  t.alloc(out, 'dq, dk, dv in fp32');
  t.free(e * q + 2 * e * kv, 'kernel: dq, dk, dv');
  t.free(2 * e * q, 'dout, out in the compute dtype');
  t.free(4 * s.B * s.hq * Lq, 'log-sum-exp, contiguous');
  t.free(e * q + 2 * e * kv, 'q, k, v in the kernel layout');
  t.free(bias, 'additive bias');
  if (masked) t.free(s.B * Lq * Lk, 'allowed');
  return out;
}

/** A GPU block's forward as attention/fused.py runs it (derived from the code, not measured). */
function gpuKernelForward(t: Tape, s: BlockDims, Lq: number, Lk: number, masked: boolean): number {
  const e = s.e;
  const q = s.B * s.hq * Lq * s.d;
  const kv = s.B * (masked ? s.hq : s.hk) * Lk * s.d;
  const lse = 4 * s.B * s.hq * Lq;
  const bias = masked ? e * s.B * Lq * Math.ceil(Lk / 16) * 16 : 0;
  if (masked) t.alloc(s.B * Lq * Lk, 'allowed');
  t.alloc(bias, 'additive bias');
  t.alloc(e * q + 2 * e * kv, 'q, k, v in the kernel layout');
  t.alloc(e * q + lse, 'kernel: out, log-sum-exp');
  t.alloc(4 * q, 'out in fp32');
  t.free(e * q, 'kernel: out');
  t.free(e * q + 2 * e * kv, 'q, k, v in the kernel layout');
  t.free(bias, 'additive bias');
  if (masked) t.free(s.B * Lq * Lk, 'allowed');
  return 4 * q + lse;
}

/** Forward of one attention block (sdpa_cpu.forward): returns the bytes of (out, lse) it hands back. */
function kernelForward(tape: Tape, s: BlockDims, b: AttnBlock, masked: boolean): number {
  const key = `fwd ${b.q1 - b.q0} ${b.k1 - b.k0} ${masked}`;
  return tape.segment(key, (t) => kernelForwardEvents(t, s, b, masked));
}

function kernelForwardEvents(t: Tape, s: BlockDims, b: AttnBlock, masked: boolean): number {
  const Lq = b.q1 - b.q0;
  const Lk = b.k1 - b.k0;
  const Q = 4 * s.B * s.hq * Lq * s.d;
  const K = 4 * s.B * s.hk * Lk * s.d;
  const Kx = 4 * s.B * s.hq * Lk * s.d;
  const lse = 4 * s.B * s.hq * Lq;
  const bf16 = s.e < 4;
  const expand = s.hk !== s.hq;
  if (!s.cpu) return gpuKernelForward(t, s, Lq, Lk, masked);
  if (masked) maskAlloc(t, s, Lq, Lk);
  if (bf16) t.alloc(Q, 'q in fp32');
  for (let x = 0; x < 2; x++) {
    // k, then v
    if (bf16) t.alloc(K, 'k or v in fp32');
    if (expand) t.alloc(Kx, 'k or v repeated to the query heads');
    if (bf16 && expand) t.free(K, 'k or v in fp32');
  }
  t.alloc(Q, 'kernel: out');
  t.alloc(lse, 'kernel: log-sum-exp');
  const qs = cpuQuerySplit(Lq);
  const scratch = s.threads * (qs * cpuKeySplit(Lk) + 2 * qs + qs * s.d) * 4;
  t.alloc(scratch, 'kernel: per-thread scratch');
  t.free(scratch, 'kernel: per-thread scratch');
  if (bf16) t.free(Q, 'q in fp32');
  const kCopy = expand ? Kx : bf16 ? K : 0;
  t.free(kCopy, 'k copy');
  t.free(kCopy, 'v copy');
  if (masked) {
    t.alloc(lse, 'log-sum-exp, empty rows -inf');
    t.free(lse, 'kernel: log-sum-exp');
    t.free(s.B * Lq, 'rows with a key');
    t.free(4 * s.B * Lq * Lk, 'additive mask');
  }
  return Q + lse;
}

/** ring.merge: the online-softmax merge of one block's (out, lse) into the fp32 accumulators. */
function mergeBlock(t: Tape, s: BlockDims, Lq: number): void {
  const lb = 4 * s.B * s.hq * Lq;
  t.alloc(lb, 'merged log-sum-exp');
  t.alloc(lb, 'safe log-sum-exp');
  t.alloc(lb, 'old weight');
  t.alloc(lb, 'new weight');
  t.alloc(4 * s.B * s.hq * Lq * s.d, 'out x new weight');
  t.free(4 * s.B * s.hq * Lq * s.d, 'out x new weight');
  for (const x of ['merged log-sum-exp', 'safe log-sum-exp', 'old weight', 'new weight'])
    t.free(lb, x);
}

/** comm.all_to_all of n bytes: gloo moves bf16 as fp32 (a send and a receive copy, freed at once). */
function allToAll(t: Tape, s: BlockDims, n: number): void {
  if (s.wire > s.e) {
    t.alloc(2 * n, 'all-to-all send (fp32)');
    t.alloc(2 * n, 'all-to-all receive (fp32)');
    t.alloc(n, 'all-to-all result');
    t.free(2 * n, 'all-to-all send (fp32)');
    t.free(2 * n, 'all-to-all receive (fp32)');
  } else t.alloc(n, 'all-to-all result');
}

/** ulysses._seq_to_head on n bytes: a permuted send copy, the exchange, a reshape copy when B > 1. */
function seqToHead(t: Tape, s: BlockDims, n: number): void {
  t.alloc(n, 'all-to-all send, permuted');
  allToAll(t, s, n);
  if (s.B > 1) {
    t.alloc(n, 'head layout, reshaped');
    t.free(n, 'all-to-all result');
  }
  t.free(n, 'all-to-all send, permuted');
}

/** ulysses._head_to_seq on n bytes with hl heads a rank: copies when B > 1 (send) and hl > 1 (result). */
function headToSeq(t: Tape, s: BlockDims, n: number, hl: number): void {
  if (s.B > 1) t.alloc(n, 'all-to-all send, permuted');
  allToAll(t, s, n);
  if (hl > 1) {
    t.alloc(n, 'sequence layout, reshaped');
    t.free(n, 'all-to-all result');
  }
  if (s.B > 1) t.free(n, 'all-to-all send, permuted');
}

/**
 * Ring ranks whose backward can differ: rank me sees its own shard, then me shards before it,
 * then R - 1 - me after it, so ranks 0, 1, R - 2 and R - 1 between them have every step that
 * any rank has, next to every neighbour it can have (the largest over all ranks is among them).
 */
export function distinctRingRanks(R: number): number[] {
  return [...new Set([0, 1, R - 2, R - 1].filter((x) => x >= 0 && x < R))];
}

/**
 * How ring rank src's shard relates to rank me's: every block (and FPDT chunk pair) depends only
 * on this (the same shard, an earlier one, a later one), in both ring layouts.
 */
const relation = (me: number, src: number) =>
  src === me ? 'same' : src < me ? 'earlier' : 'later';

/**
 * The ring steps of rank me to replay: step st holds rank me - st's K,V (its own, then every
 * earlier shard, then every later one). A step is fixed by that relation, whether it is the first
 * or second (FPDT frees its starting buffers there) and whether it is the last (no K,V is sent
 * on); once the same step has run twice in a row the tape is where it was before, so further
 * repeats are left out.
 */
function ringSteps(R: number, me: number): { st: number; src: number; last: boolean }[] {
  const out: { st: number; src: number; last: boolean }[] = [];
  let prev = -1;
  let repeats = 0;
  for (let st = 0; st < R; st++) {
    const src = (me - st + R) % R;
    const last = st === R - 1;
    // relation (same 0, earlier 1, later 2), the step's place (first, second, any later), last
    const id = (src === me ? 0 : src < me ? 1 : 2) * 8 + Math.min(st, 2) * 2 + (last ? 1 : 0);
    repeats = id === prev ? repeats + 1 : 1;
    prev = id;
    if (repeats <= 2) out.push({ st, src, last });
  }
  return out;
}

/** The blocks ring rank `me` computes, in ring order (step s holds ring rank me - s's K,V). */
export function ringBlocks(s: BlockDims, me: number): (AttnBlock | null)[] {
  const out: (AttnBlock | null)[] = [];
  for (let st = 0; st < s.R; st++) {
    const src = (me - st + s.R) % s.R;
    out.push(activeBlock(s, me, src, 0, s.L, 0, s.L));
  }
  return out;
}

/** RingAttention.backward (attention/ring.py) on ring rank me. */
function ringBackward(t: Tape, s: BlockDims, me: number): void {
  const Q = 4 * s.B * s.hq * s.L * s.d;
  const KV = 2 * s.B * s.hk * s.L * s.d; // K and V stacked, elements
  const bf16 = s.e < 4;
  t.alloc(Q, 'dq accumulator');
  t.alloc(4 * KV, 'dK/dV accumulator');
  t.alloc(s.e * KV, 'K,V stacked');
  let held = 0; // the last block's (dq, dk, dv), freed when the next block's replace them
  for (const { src, last } of ringSteps(s.R, me)) {
    // a step depends only on how src relates to me (its block), whether it is the last, and held
    const key = `ring bwd ${relation(me, src)} ${last} ${held}`;
    held = t.segment(key, (tt) => {
      if (!last) {
        if (s.wire > s.e) tt.alloc(s.wire * KV, 'K,V send (fp32)');
        tt.alloc(s.wire * KV, 'K,V receive');
      }
      let h = held;
      const b = activeBlock(s, me, src, 0, s.L, 0, s.L);
      if (b) {
        const got = kernelBackward(tt, s, b, {
          outSliced: b.q1 - b.q0 < s.L && s.B * s.hq > 1,
          masked: s.masked || b.kind === null,
        });
        tt.free(h, 'previous block dq, dk, dv');
        h = got;
      }
      if (s.R > 1) {
        tt.alloc(4 * KV, 'dK/dV received');
        tt.free(4 * KV, 'dK/dV sent on');
      }
      if (!last) {
        if (s.wire > s.e) tt.alloc(s.e * KV, 'K,V received, bf16');
        tt.free(s.e * KV, 'K,V sent on');
        if (s.wire > s.e) {
          tt.free(s.wire * KV, 'K,V send (fp32)');
          tt.free(s.wire * KV, 'K,V receive');
        }
      }
      return h;
    });
  }
  if (bf16) {
    t.alloc(Q / 2, 'dq in bf16');
    t.alloc(KV, 'dk in bf16');
    t.alloc(KV, 'dv in bf16');
    t.free(Q, 'dq accumulator');
    t.free(4 * KV, 'dK/dV accumulator');
  }
  t.free(s.e * KV, 'K,V stacked');
  t.free(held, 'last block dq, dk, dv');
}

/** A parameter's gradient: its .grad (a later micro-step adds it into the existing one and drops it). */
function weightGrad(t: Tape, s: BlockDims, bytes: number, what: string): void {
  t.alloc(bytes, what);
  if (s.accumulate) t.free(bytes, `${what}, added into .grad`);
}

/**
 * RMSNorm backward (model/llama.py), then the residual: the fp32 normalisation's gradients, what
 * the norm saved released, and its input gradient added into the residual stream's (in place).
 */
function normBackward(
  t: Tape,
  s: BlockDims,
  sharedResidual = false,
  blockInput = false,
  final = false,
): void {
  const x = s.T * s.h;
  const bf16 = s.e < 4;
  if (bf16) {
    t.alloc(4 * x, 'norm: grad in fp32');
    t.free(s.e * x, 'norm: incoming grad');
  }
  t.alloc(4 * x, 'norm: d(normalised)');
  t.alloc(4 * x, 'norm: grad x normalised');
  if (bf16) t.alloc(4 * s.h, 'norm: weight grad (fp32)');
  else weightGrad(t, s, 4 * s.h, 'norm: weight grad');
  t.free(4 * x, 'norm: grad x normalised');
  t.free(4 * x, bf16 ? 'norm: grad in fp32' : 'norm: incoming grad');
  if (bf16) t.free(4 * s.h, 'norm: fp32 weight copy (saved)');
  t.free(4 * x, 'norm: normalised value (saved)');
  if (bf16) {
    weightGrad(t, s, s.w * s.h, 'norm: weight grad');
    t.free(4 * s.h, 'norm: weight grad (fp32)');
  }
  t.alloc(4 * x, 'norm: d(x), through the normalised value');
  t.alloc(4 * x, 'norm: d(normalised) x x');
  t.alloc(4 * s.T, 'norm: d(1/rms)');
  t.free(4 * x, 'norm: d(normalised) x x');
  t.free(4 * x, 'norm: d(normalised)');
  // fp32: the input is the residual stream itself, so its gradient goes straight into the residual's
  // (ZeRO-3: the block's output gradient is still referenced by its caller, so the first sum is a new tensor)
  if (!bf16 && sharedResidual) t.alloc(4 * x, 'residual grad, a new sum');
  // (the final norm: its input's first gradient is the buffer the second is added into)
  if (!bf16 && !final)
    t.free(4 * x, 'norm: d(x), through the normalised value (into the residual grad)');
  t.alloc(4 * s.T, 'norm: d(mean)');
  t.free(4 * s.T, 'norm: 1/rms (saved)');
  t.free(4 * s.T, 'norm: d(1/rms)');
  t.alloc(4 * x, 'norm: d(mean), expanded');
  t.free(4 * s.T, 'norm: d(mean)');
  t.alloc(4 * x, 'norm: x^1');
  t.alloc(4 * x, 'norm: 2x');
  t.alloc(4 * x, 'norm: d(x), through the square');
  t.free(4 * x, 'norm: x^1');
  t.free(4 * x, 'norm: 2x');
  t.free(4 * x, 'norm: d(mean), expanded');
  t.free(4 * x, 'norm: fp32 input (saved)');
  // (fp32, the block's input: this last piece is the gradient the block hands back)
  if (bf16 || !blockInput) t.free(4 * x, 'norm: d(x), through the square (accumulated)');
  if (bf16) {
    t.alloc(s.e * x, 'norm: d(x) in bf16');
    t.free(4 * x, 'norm: d(x) in fp32');
    if (sharedResidual) t.alloc(s.e * x, 'residual grad, a new sum');
    t.free(s.e * x, 'norm: d(x) (into the residual grad)');
  }
}

/** RMSNorm forward: the fp32 input, 1/rms, the normalised value, the output (bf16: a copy). */
function normForward(t: Tape, s: BlockDims): void {
  const x = s.T * s.h;
  const bf16 = s.e < 4;
  if (bf16) t.alloc(4 * x, 'norm: fp32 input');
  t.alloc(4 * x, 'norm: x^2');
  t.alloc(4 * s.T, 'norm: mean');
  t.free(4 * x, 'norm: x^2');
  t.alloc(4 * s.T, 'norm: mean + eps');
  t.free(4 * s.T, 'norm: mean');
  t.alloc(4 * s.T, 'norm: 1/rms');
  t.free(4 * s.T, 'norm: mean + eps');
  t.alloc(4 * x, 'norm: normalised');
  if (bf16) t.alloc(4 * s.h, 'norm: fp32 weight copy');
  t.alloc(4 * x, 'norm: x weight');
  if (bf16) {
    t.alloc(s.e * x, 'norm: output in bf16');
    t.free(4 * x, 'norm: x weight');
  }
}

/** The SwiGLU MLP's backward: down, the product, up, SiLU, gate; frees its four saved tensors and the norm's output. */
function mlpBackward(t: Tape, s: BlockDims): void {
  const F = s.e * s.T * s.f;
  const X = s.e * s.T * s.h;
  const W = s.w * s.h * s.f;
  weightGrad(t, s, W, 'down: weight grad');
  t.alloc(F, 'd(product)');
  t.free(F, 'product (saved)');
  t.alloc(F, 'd(silu)');
  t.alloc(F, 'd(up)');
  t.free(F, 'd(product)');
  t.free(F, 'up (saved)');
  t.free(F, 'silu (saved)');
  weightGrad(t, s, W, 'up: weight grad');
  t.alloc(X, 'd(x) through up');
  t.free(F, 'd(up)');
  t.alloc(F, 'd(gate)');
  t.free(F, 'd(silu)');
  t.free(F, 'gate (saved)');
  weightGrad(t, s, W, 'gate: weight grad');
  t.alloc(X, 'd(x) through gate');
  t.free(F, 'd(gate)');
  t.free(X, 'norm 2 output (saved)');
  t.alloc(X, 'd(norm 2 output)');
  t.free(X, 'd(x) through up');
  t.free(X, 'd(x) through gate');
}

/** The SwiGLU MLP's forward up to its down projection (a recompute stops there: nothing after it is saved). */
function mlpForward(t: Tape, s: BlockDims): void {
  const F = s.e * s.T * s.f;
  t.alloc(F, 'gate');
  t.alloc(F, 'silu');
  t.alloc(F, 'up');
  t.alloc(F, 'product');
}

/** apply_rope's backward on n elements (in fp32; bf16 converts the grad in and out). */
function ropeBackward(t: Tape, s: BlockDims, n: number, incoming: number): void {
  const bf16 = s.e < 4;
  if (bf16) t.alloc(4 * n, 'rope: grad in fp32');
  if (bf16) t.free(incoming, 'rope: incoming grad');
  t.alloc(4 * n, 'rope: d(rotated)');
  t.alloc(4 * n, 'rope: d(x) through cos');
  t.free(bf16 ? 4 * n : incoming, bf16 ? 'rope: grad in fp32' : 'rope: incoming grad');
  t.alloc(4 * n, 'rope: d(x), first half');
  t.free(4 * n, 'rope: d(x), first half (accumulated)');
  t.alloc(2 * n, 'rope: d(negated half)');
  t.free(4 * n, 'rope: d(rotated)');
  t.alloc(4 * n, 'rope: d(x), second half');
  t.free(2 * n, 'rope: d(negated half)');
  t.free(4 * n, 'rope: d(x), second half (accumulated)');
  if (bf16) {
    t.alloc(s.e * n, 'rope: d(x) in bf16');
    t.free(4 * n, 'rope: d(x) in fp32');
  }
}

/** apply_rope forward on n elements: fp32 copy (bf16), the rotation, the two products, the sum. */
function ropeForward(t: Tape, s: BlockDims, n: number): void {
  const bf16 = s.e < 4;
  if (bf16) t.alloc(4 * n, 'rope: x in fp32');
  t.alloc(2 * n, 'rope: negated half');
  t.alloc(4 * n, 'rope: rotated');
  t.free(2 * n, 'rope: negated half');
  t.alloc(4 * n, 'rope: x cos');
  t.alloc(4 * n, 'rope: rotated sin');
  t.alloc(4 * n, 'rope: sum');
  t.free(4 * n, 'rope: x cos');
  t.free(4 * n, 'rope: rotated sin');
  if (bf16) {
    t.alloc(s.e * n, 'rope: output in bf16');
    t.free(4 * n, 'rope: sum');
  }
  t.free(4 * n, 'rope: rotated');
  if (bf16) t.free(4 * n, 'rope: x in fp32');
}

/**
 * The (query chunk i, key chunk j) pairs FPDT computes against ring rank src for key chunk j
 * (meta.chunk_ranges), in order of i, as runs of identical blocks. Positions increase along a
 * shard, so as i grows the pairs go from fully masked (left out) through a few boundary chunks to
 * fully visible ones, which are all the same whole-chunk block.
 */
export function chunkRuns(
  s: BlockDims,
  me: number,
  src: number,
  j: number,
): { block: AttnBlock; count: number }[] {
  const m = s.L / s.c;
  const ka = j * m;
  const kb = ka + m;
  const kmin = shardPos(s, src, ka);
  const kmax = shardPos(s, src, kb - 1);
  // the first query chunk that sees any key, and the first that sees every key
  const search = (ok: (i: number) => boolean) => {
    let lo = 0;
    let hi = s.c;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ok(mid)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const i0 = search((i) => shardPos(s, me, (i + 1) * m - 1) >= kmin);
  const i1 = Math.max(
    i0,
    search((i) => shardPos(s, me, i * m) >= kmax),
  );
  const runs: { block: AttnBlock; count: number }[] = [];
  for (let i = i0; i < i1; i++) {
    const b = activeBlock(s, me, src, i * m, (i + 1) * m, ka, kb);
    if (b) runs.push({ block: b, count: 1 });
  }
  if (i1 < s.c)
    runs.push({
      block: { q0: i1 * m, q1: i1 * m + m, k0: ka, k1: kb, kind: 'full' },
      count: s.c - i1,
    });
  return runs;
}

/** Query chunk i x key chunk j pairs FPDT computes against ring rank src (meta.chunk_ranges), by key chunk. */
export function chunkPairs(s: BlockDims, me: number, src: number): AttnBlock[][] {
  const out: AttnBlock[][] = [];
  for (let j = 0; j < s.c; j++)
    out.push(chunkRuns(s, me, src, j).flatMap((r) => Array<AttnBlock>(r.count).fill(r.block)));
  return out;
}

/**
 * The key chunks of one ring step to replay, with their pairs: a chunk is fixed by its runs
 * (two identical pairs stand for more, kernelRuns) and by being the first or the last chunk, so
 * once the same chunk has run twice in a row further repeats are left out (as ringSteps).
 */
function chunkSteps(
  s: BlockDims,
  me: number,
  src: number,
): { j: number; runs: { block: AttnBlock; count: number }[] }[] {
  const out: { j: number; runs: { block: AttnBlock; count: number }[] }[] = [];
  let prev: { block: AttnBlock; count: number }[] | null = null;
  let repeats = 0;
  for (let j = 0; j < s.c; j++) {
    const runs = chunkRuns(s, me, src, j);
    const same =
      prev !== null &&
      j !== s.c - 1 &&
      j !== 1 &&
      prev.length === runs.length &&
      runs.every((r, i) => sameRun(r, prev![i]));
    repeats = same ? repeats + 1 : 1;
    prev = runs;
    if (repeats <= 2) out.push({ j, runs });
  }
  return out;
}

/** Two runs of blocks act alike: the same block shape and kind, both one or both several. */
function sameRun(
  a: { block: AttnBlock; count: number },
  b: { block: AttnBlock; count: number },
): boolean {
  return (
    a.block.q1 - a.block.q0 === b.block.q1 - b.block.q0 &&
    a.block.k1 - a.block.k0 === b.block.k1 - b.block.k0 &&
    a.block.kind === b.block.kind &&
    Math.min(a.count, 2) === Math.min(b.count, 2)
  );
}

/**
 * Run a block's kernel for each of a run of identical blocks: after the second, each leaves the
 * tape as it found it (it frees the previous one's outputs, of its own size), so two stand for all.
 */
function kernelRuns(
  runs: { block: AttnBlock; count: number }[],
  held: number,
  call: (b: AttnBlock, held: number) => number,
): number {
  for (const r of runs) {
    held = call(r.block, held);
    if (r.count > 1) held = call(r.block, held);
  }
  return held;
}

/** ChunkedAttention.backward (attention/chunked.py) on ring rank me. */
function chunkedBackward(t: Tape, s: BlockDims, me: number): void {
  const c = s.c;
  const Q = 4 * s.B * s.hq * s.L * s.d;
  const KV = 2 * s.B * s.hk * s.L * s.d;
  const kvc = KV / c; // one K,V chunk, elements
  const eq = s.e * s.T * s.q; // the local dout, or dq in the compute dtype
  const ekv = (s.e * KV) / 2; // one of dk, dv in the compute dtype
  const bf16 = s.e < 4;
  if (s.U > 1) {
    t.alloc(eq, 'dout, head layout');
    for (let i = 0; i < c; i++) {
      seqToHead(t, s, eq / c);
      t.free(eq / c, 'chunk, copied into place');
    }
  }
  t.alloc(Q, 'dq accumulator');
  t.alloc(s.e * KV, 'K,V stacked');
  t.alloc(4 * KV, 'dK/dV accumulator');
  let held = 0; // the last pair's (dq, dk, dv), freed when the next pair's replace them
  let closure = 0; // what the last K,V shift's wait keeps: its send copy, [bf16] fp32 receive, the chunk it sent
  for (const { st, src, last } of ringSteps(s.R, me)) {
    const phase = st === 0 ? 'first' : st === 1 ? 'second' : 'later';
    const key = `chunked bwd ${relation(me, src)} ${phase} ${last} ${held} ${closure}`;
    [held, closure] = t.segment(key, (tt) => {
      let h = held;
      let cl = closure;
      for (const { j, runs } of tt.memo(`pairs ${relation(me, src)}`, () =>
        chunkSteps(s, me, src),
      )) {
        // wait_kv = comm.shift(chunk j): a contiguous send copy and the receive buffer; the
        // previous wait (and what only it kept) goes with the rebinding
        if (!last) {
          tt.alloc(s.wire * kvc, 'K,V chunk send (contiguous)');
          tt.alloc(s.wire * kvc, 'K,V chunk receive');
        }
        tt.free(cl, 'previous K,V shift');
        cl = 0;
        if (st === 1 && j === 0) tt.free(s.e * KV, 'K,V stacked (every chunk sent on)');
        h = kernelRuns(runs, h, (b, prev) => {
          const got = kernelBackward(tt, s, b, {
            outSliced: b.q1 - b.q0 < s.L && s.B * s.hq > 1,
            masked: s.masked || b.kind === null,
          });
          tt.free(prev, 'previous pair dq, dk, dv');
          return got;
        });
        if (s.R > 1) {
          // dblocks[j] = comm.shift(acc)(): the chunk follows its K,V
          tt.alloc(4 * kvc, 'dK/dV chunk send (contiguous)');
          tt.alloc(4 * kvc, 'dK/dV chunk received');
          tt.free(4 * kvc, 'dK/dV chunk send (contiguous)');
          if (st === 0 && j === c - 1) tt.free(4 * KV, 'dK/dV accumulator (every chunk sent on)');
          if (st > 0) tt.free(4 * kvc, 'dK/dV chunk sent on');
        }
        if (!last) {
          // blocks[j] = wait_kv(): the received chunk (gloo bf16: a copy of the fp32 receive)
          const copy = s.wire > s.e;
          if (copy) tt.alloc(s.e * kvc, 'K,V chunk received');
          cl = s.wire * kvc + (copy ? s.wire * kvc : 0) + (st > 0 ? s.e * kvc : 0);
        }
      }
      return [h, cl] as [number, number];
    });
  }
  t.free(closure, 'last K,V shift');
  if (s.R === 1) t.free(s.e * KV, 'K,V stacked');
  else t.free(s.e * KV, 'K,V chunks');
  t.alloc(4 * KV, 'dK/dV, concatenated');
  t.free(4 * KV, 'dK/dV chunks');
  // to_local: back to the local layout in the compute dtype (one all-to-all per chunk with Ulysses)
  for (const [n, what] of [
    [eq, 'dq'],
    [ekv, 'dk'],
    [ekv, 'dv'],
  ] as const) {
    if (s.U === 1) {
      if (bf16) t.alloc(n, `${what} in bf16`);
      continue;
    }
    t.alloc(n, `${what}, local layout`);
    for (let i = 0; i < c; i++) {
      if (bf16) t.alloc(n / c, 'chunk in bf16');
      t.alloc(n / c, 'chunk, contiguous');
      if (bf16) t.free(n / c, 'chunk in bf16');
      headToSeq(t, s, n / c, what === 'dq' ? s.hq : s.hk);
      t.free(n / c, 'chunk, contiguous');
      t.free(n / c, 'chunk result, copied into place');
    }
  }
  if (bf16 || s.U > 1) {
    t.free(Q, 'dq accumulator');
    t.free(4 * KV, 'dK/dV, concatenated');
  }
  t.free(held, 'last pair dq, dk, dv');
  if (s.U > 1) t.free(eq, 'dout, head layout');
}

/** RingAttention.forward on ring rank me: the fp32 accumulators, each block's kernel and merge. */
function ringForward(t: Tape, s: BlockDims, me: number): void {
  const KV = 2 * s.B * s.hk * s.L * s.d;
  const bf16 = s.e < 4;
  t.alloc(4 * s.B * s.hq * s.L * s.d, 'out accumulator');
  t.alloc(4 * s.B * s.hq * s.L, 'log-sum-exp accumulator');
  t.alloc(s.e * KV, 'K,V stacked');
  let held = 0;
  for (const { src, last } of ringSteps(s.R, me)) {
    held = t.segment(`ring fwd ${relation(me, src)} ${last} ${held}`, (tt) => {
      if (!last) {
        if (s.wire > s.e) tt.alloc(s.wire * KV, 'K,V send (fp32)');
        tt.alloc(s.wire * KV, 'K,V receive');
      }
      let h = held;
      const b = activeBlock(s, me, src, 0, s.L, 0, s.L);
      if (b) {
        const got = kernelForward(tt, s, b, s.masked || b.kind === null);
        mergeBlock(tt, s, b.q1 - b.q0);
        tt.free(h, 'previous block out, lse');
        h = got;
      }
      if (!last) {
        if (s.wire > s.e) tt.alloc(s.e * KV, 'K,V received, bf16');
        tt.free(s.e * KV, 'K,V sent on');
        if (s.wire > s.e) {
          tt.free(s.wire * KV, 'K,V send (fp32)');
          tt.free(s.wire * KV, 'K,V receive');
        }
      }
      return h;
    });
  }
  if (bf16) t.alloc(s.e * s.T * s.q, 'attention output in bf16');
  t.free(s.e * KV, 'K,V stacked');
  t.free(held, 'last block out, lse');
}

/** ChunkedAttention.forward on ring rank me (to heads chunk by chunk, the pairs, back to the local layout). */
function chunkedForward(t: Tape, s: BlockDims, me: number): void {
  const c = s.c;
  const KV = 2 * s.B * s.hk * s.L * s.d;
  const kvc = KV / c;
  const bf16 = s.e < 4;
  const eq = s.e * s.T * s.q;
  if (s.U > 1)
    for (const n of [eq, (s.e * KV) / 2, (s.e * KV) / 2]) {
      t.alloc(n, 'head layout');
      for (let i = 0; i < c; i++) {
        seqToHead(t, s, n / c);
        t.free(n / c, 'chunk, copied into place');
      }
    }
  t.alloc(4 * s.B * s.hq * s.L * s.d, 'out accumulator');
  t.alloc(4 * s.B * s.hq * s.L, 'log-sum-exp accumulator');
  t.alloc(s.e * KV, 'K,V stacked');
  let held = 0;
  let closure = 0;
  for (const { st, src, last } of ringSteps(s.R, me)) {
    const phase = st === 0 ? 'first' : st === 1 ? 'second' : 'later';
    const key = `chunked fwd ${relation(me, src)} ${phase} ${last} ${held} ${closure}`;
    [held, closure] = t.segment(key, (tt) => {
      let h = held;
      let cl = closure;
      for (const { j, runs } of tt.memo(`pairs ${relation(me, src)}`, () =>
        chunkSteps(s, me, src),
      )) {
        if (!last) {
          tt.alloc(s.wire * kvc, 'K,V chunk send (contiguous)');
          tt.alloc(s.wire * kvc, 'K,V chunk receive');
        }
        tt.free(cl, 'previous K,V shift');
        cl = 0;
        if (st === 1 && j === 0) tt.free(s.e * KV, 'K,V stacked (every chunk sent on)');
        h = kernelRuns(runs, h, (b, prev) => {
          const got = kernelForward(tt, s, b, s.masked || b.kind === null);
          mergeBlock(tt, s, b.q1 - b.q0);
          tt.free(prev, 'previous pair out, lse');
          return got;
        });
        if (!last) {
          const copy = s.wire > s.e;
          if (copy) tt.alloc(s.e * kvc, 'K,V chunk received');
          cl = s.wire * kvc + (copy ? s.wire * kvc : 0) + (st > 0 ? s.e * kvc : 0);
        }
      }
      return [h, cl] as [number, number];
    });
  }
  t.free(closure, 'last K,V shift');
  t.free(s.e * KV, s.R === 1 ? 'K,V stacked' : 'K,V chunks');
  // to_local(out): the fp32 accumulator back to the local layout in the compute dtype
  if (s.U === 1) {
    if (bf16) t.alloc(eq, 'attention output in bf16');
  } else {
    t.alloc(eq, 'attention output, local layout');
    for (let i = 0; i < c; i++) {
      t.alloc(eq / c, 'chunk in the compute dtype');
      headToSeq(t, s, eq / c, s.hq);
      t.free(eq / c, 'chunk in the compute dtype');
      t.free(eq / c, 'chunk result, copied into place');
    }
  }
  t.free(held, 'last pair out, lse');
}

/**
 * The attention core on every ring rank that can differ (distinctRingRanks), applied as the
 * largest: only the core depends on the rank, and it leaves the same tensors behind on every
 * rank, so the window's peak over ranks is its peak with each core at its largest.
 */
function everyRank(t: Tape, s: BlockDims, what: string, core: (t: Tape, me: number) => void): void {
  if (t.log) return core(t, t.rank);
  t.segment(what, (tt) => {
    const start = tt.live;
    let peak = start;
    let end = start;
    for (const me of distinctRingRanks(s.R)) {
      const sub = new Tape(false, tt.cache);
      core(sub, me);
      peak = Math.max(peak, start + sub.peak);
      end = start + sub.live;
    }
    tt.alloc(peak - start, `${what} (largest over ring ranks)`);
    tt.free(peak - end, `${what} (largest over ring ranks)`);
  });
}

/**
 * The block's forward as a recompute runs it (full checkpointing), up to the down projection's
 * input, where torch's non-reentrant checkpoint stops (nothing after it is saved).
 */
function blockRecompute(t: Tape, s: BlockDims): void {
  const X = s.e * s.T * s.h;
  const qb = s.e * s.T * s.q;
  const kb = s.e * s.T * s.kvd;
  const ku = s.e * s.B * s.hk * s.L * s.d; // one of K, V after the all-to-all
  normForward(t, s);
  t.alloc(qb, 'q');
  t.alloc(kb, 'k');
  t.alloc(kb, 'v');
  ropeForward(t, s, s.T * s.q);
  ropeForward(t, s, s.T * s.kvd);
  t.free(qb, 'q before RoPE');
  t.free(kb, 'k before RoPE');
  if (s.replicate) {
    t.alloc(ku, 'k repeated');
    t.alloc(ku, 'v repeated');
  }
  if (s.c > 1) {
    everyRank(t, s, 'chunked fwd', (tt, me) => chunkedForward(tt, s, me));
    if (s.replicate) t.free(2 * ku, 'k, v repeated (sequence layout)');
  } else {
    if (s.U > 1)
      for (const n of [qb, s.replicate ? ku : kb, s.replicate ? ku : kb]) seqToHead(t, s, n);
    if (s.replicate) t.free(2 * ku, 'k, v repeated (sequence layout)');
    everyRank(t, s, 'ring fwd', (tt, me) => ringForward(tt, s, me));
    if (s.U > 1) {
      if (s.hq > 1) t.alloc(qb, 'attention output, contiguous');
      headToSeq(t, s, qb, s.hq);
      if (s.hq > 1) t.free(qb, 'attention output, contiguous');
      if (s.e < 4) t.free(qb, 'attention output in bf16');
    }
  }
  const local = s.U === 1 && s.c === 1; // LocalAttention: the output is a transposed view
  if (local) t.alloc(qb, 'o-projection input, reshaped');
  t.alloc(X, 'o-projection output');
  if (s.e < 4 && local) t.free(qb, 'attention output in bf16');
  // Attention.forward returns: its q, k, v go (the attention keeps head-layout copies under Ulysses)
  if (s.U > 1) t.free(qb + 2 * kb, 'q, k, v (sequence layout)');
  t.alloc(X, 'residual');
  t.free(X, 'o-projection output');
  normForward(t, s);
  mlpForward(t, s);
  if (s.e < 4) t.free(X, 'residual (not saved in bf16)');
}

/** ZeRO-3's gather of the block's unit (optim/zero3.py Unit.gather; gloo moves bf16 as fp32). */
function zero3Gather(t: Tape, s: BlockDims): void {
  const pad = s.unitPad;
  const shard = pad / s.world;
  if (s.world === 1) {
    t.alloc(s.w * pad, 'gathered block weights');
    return;
  }
  if (!s.cpu) {
    t.alloc(s.w * pad, 'gathered block weights'); // NCCL gathers in place
    return;
  }
  const wd = s.w < 4 ? 4 : s.w;
  t.alloc(wd * pad, 'gather buffer (fp32 on gloo)');
  if (s.w < 4) t.alloc(wd * shard, 'own shard in fp32');
  t.alloc(wd * shard, 'own shard, private copy');
  t.alloc(wd * pad, 'all_gather staging');
  t.free(wd * pad, 'all_gather staging');
  t.alloc(wd * pad, 'gloo all_gather staging');
  t.free(wd * pad, 'gloo all_gather staging');
  t.free(wd * shard, 'own shard, private copy');
  if (s.w < 4) {
    t.free(wd * shard, 'own shard in fp32');
    t.alloc(s.w * pad, 'gathered block weights');
    t.free(wd * pad, 'gather buffer (fp32 on gloo)');
  }
}

/** ZeRO-3's reduce-scatter of the block's gradients, then the release of its weights and gradients. */
function zero3Reduce(t: Tape, s: BlockDims): void {
  const pad = s.unitPad;
  t.alloc(4 * pad, 'fp32 gradient buffer');
  if (s.world > 1) {
    t.alloc((4 * pad) / s.world, 'reduced shard');
    // gloo has no reduce-scatter: comm.reduce_scatter_sum all-reduces a copy
    if (s.cpu) t.alloc(4 * pad, 'reduce staging (gloo all-reduce copy)');
    if (s.cpu) t.free(4 * pad, 'reduce staging (gloo all-reduce copy)');
    t.free((4 * pad) / s.world, 'reduced shard');
  }
  t.free(4 * pad, 'fp32 gradient buffer');
  t.free(s.w * pad, 'gathered block weights');
  t.free(s.w * s.P, 'block gradients');
}

export type Policy = LayoutChoice['checkpointing'];

/**
 * The last block's backward on ring rank `me`, from the moment the gradient of its output exists
 * to the moment the gradient of its input does (the runtime's `layer_bwd_start` to `layer_bwd_end`).
 * Returns the tape (relative to the start).
 */
export function lastBlockBackward(
  s: BlockDims,
  policy: Policy,
  zero3: boolean,
  me: number,
  record = false,
  cache?: SegmentCache,
): Tape {
  const t = new Tape(record, cache);
  t.rank = me;
  const X = s.e * s.T * s.h;
  const qb = s.e * s.T * s.q;
  const kb = s.e * s.T * s.kvd;
  const KV = 2 * s.B * s.hk * s.L * s.d;
  const ku = (s.e * KV) / 2; // one of K, V after the all-to-all, compute dtype
  const bf16 = s.e < 4;
  if (zero3) zero3Gather(t, s);
  if (policy !== 'none') t.alloc(RNG_STATE_BYTES, 'RNG state restored for the recompute');
  if (policy === 'full') blockRecompute(t, s);
  if (policy === 'selective') mlpForward(t, s);
  if (policy !== 'none') t.free(RNG_STATE_BYTES, 'RNG state restored for the recompute');
  mlpBackward(t, s);
  // the checkpointed region's stashed RNG state goes when the region's backward is done
  if (policy === 'selective') t.free(RNG_STATE_BYTES, "checkpoint's RNG state");
  normBackward(t, s, zero3);
  // o projection
  weightGrad(t, s, s.w * s.q * s.h, 'o: weight grad');
  t.alloc(qb, 'd(o input)');
  t.free(qb, 'o input (saved)');
  if (s.c > 1) everyRank(t, s, 'chunked bwd', (tt, me) => chunkedBackward(tt, s, me));
  else {
    if (s.U > 1) {
      seqToHead(t, s, qb);
      t.free(qb, 'd(o input)');
    }
    everyRank(t, s, 'ring bwd', (tt, me) => ringBackward(tt, s, me));
  }
  // the attention's saved tensors and the incoming gradient go
  t.free(qb, 'q (saved)');
  t.free(2 * (s.U > 1 || s.replicate ? ku : kb), 'k, v (saved)');
  t.free(4 * s.B * s.hq * s.L * s.d, 'attention output accumulator (saved)');
  t.free(4 * s.B * s.hq * s.L, 'log-sum-exp (saved)');
  t.free(qb, 'dout');
  // the gradients of q, k, v: in head layout (bf16 copies; fp32 the accumulators themselves)
  const fp32Acc = !bf16 && (s.U === 1 || s.c === 1);
  const dq = fp32Acc ? 4 * s.B * s.hq * s.L * s.d : qb;
  let dk = fp32Acc ? 0 : ku; // fp32: views of the dK/dV accumulator, freed with the second
  if (s.U > 1 && s.c === 1) {
    for (const [n, hl, what] of [
      [ku, s.hk, 'dv'],
      [ku, s.hk, 'dk'],
      [qb, s.hq, 'dq'],
    ] as const) {
      if (hl > 1) t.alloc(n, `${what}, contiguous`);
      headToSeq(t, s, n, hl);
      if (hl > 1) t.free(n, `${what}, contiguous`);
      if (what === 'dq') t.free(dq, 'dq');
      else if (fp32Acc) {
        if (what === 'dk') t.free(4 * KV, 'dK/dV accumulator');
      } else t.free(n, what);
      if (s.replicate && what !== 'dq') {
        t.alloc(kb, `${what} summed over the repeats`);
        t.free(n, `${what}, sequence layout`);
      }
    }
    dk = s.replicate ? kb : ku;
  }
  const viaA2A = s.U > 1;
  // RoPE backward, k then q
  ropeBackward(t, s, s.T * s.kvd, viaA2A ? dk : fp32Acc ? 0 : kb);
  ropeBackward(t, s, s.T * s.q, viaA2A ? qb : dq);
  // projections v, k, q: the view back to [B, L, width] copies a non-contiguous gradient
  const contiguous = (which: 'q' | 'k' | 'v') =>
    s.U > 1 && (s.c > 1 || s.replicate || (which === 'q' ? s.hq : s.hk) > 1);
  const dvIn = viaA2A ? (s.replicate ? kb : ku) : fp32Acc ? 0 : kb;
  for (const [which, width, incoming] of [
    ['v', s.kvd, dvIn],
    ['k', s.kvd, s.e * s.T * s.kvd],
    ['q', s.q, qb],
  ] as const) {
    const g = s.e * s.T * width;
    const copy = !contiguous(which);
    if (copy) t.alloc(g, `d${which}, contiguous`);
    t.free(incoming, `d${which}`);
    if (which === 'v' && fp32Acc && !viaA2A) t.free(4 * KV, 'dK/dV accumulator');
    weightGrad(t, s, s.w * s.h * width, `${which}: weight grad`);
    t.alloc(X, `d(x) through ${which}`);
    if (copy) t.free(g, `d${which}, contiguous`);
    if (which === 'k') {
      t.alloc(X, 'd(x) through k and v');
      t.free(X, 'd(x) through v');
      t.free(X, 'd(x) through k');
    }
  }
  t.free(X, 'norm 1 output (saved)');
  t.free(X, 'd(x) through q (accumulated)');
  normBackward(t, s, false, true);
  if (policy === 'full') t.free(RNG_STATE_BYTES, "checkpoint's RNG state");
  if (zero3) {
    t.free(X, 'block output kept for its backward');
    zero3Reduce(t, s);
    t.free(X, "the block output's gradient, released by its caller");
  }
  return t;
}

/** Windows already replayed (the search asks for the same block many times), by their inputs. */
const windowMemo = new Map<string, { peak: number; end: number }>();
/** What of a plan context a window depends on, as a key (once per context). */
const contextKeys = new WeakMap<PlanContext, string>();

function contextKey(ctx: PlanContext): string {
  let k = contextKeys.get(ctx);
  if (k === undefined) {
    const m = ctx.shape;
    k = [
      m.hidden,
      m.qDim,
      m.kvDim,
      m.kvHeads,
      m.heads,
      m.headDim,
      m.ffn,
      m.layerParams,
      ctx.bytes.act,
      ctx.bytes.weight,
      ctx.microBatch,
      ctx.ringVariant,
      ctx.gpu.kind ?? 'gpu',
      CPU_ATTENTION_THREADS,
    ].join(' ');
    contextKeys.set(ctx, k);
  }
  return k;
}

/**
 * The last block's backward on a layout (lastBlockBackward with every ring rank's core at its
 * largest): its peak and end above its start, memoised by what they depend on.
 */
export function layoutWindow(
  ctx: PlanContext,
  l: LayoutChoice,
  seqLen: number,
  opts: MemoryOptions = {},
  accumulate = false,
): { peak: number; end: number } {
  const zero3 = l.zero === 3;
  const world = zero3 ? l.ulysses * l.ring * l.dp : 0;
  const flags = `${l.checkpointing}${+zero3}${+accumulate}${+(opts.maskedBlocks ?? false)}`;
  const key = `${contextKey(ctx)}|${flags} ${seqLen} ${l.ulysses} ${l.ring} ${l.chunks} ${world}`;
  const hit = windowMemo.get(key);
  if (hit) return hit;
  const s = { ...blockDims(ctx, l, seqLen, opts), accumulate };
  const t = lastBlockBackward(s, l.checkpointing, zero3, 0, false);
  const out = { peak: t.peak, end: t.live };
  if (windowMemo.size > 50_000) windowMemo.clear();
  windowMemo.set(key, out);
  return out;
}

/** Options the planner cannot know from the config (a comparison passes what the run saw). */
export interface MemoryOptions {
  /** Packed documents cut the attention blocks (each gets a mask); default: they do not. */
  maskedBlocks?: boolean;
}

/** The last block's sizes on one rank of a layout (docs/planner.md §3.5). */
export function blockDims(
  ctx: PlanContext,
  l: LayoutChoice,
  seqLen: number,
  opts: MemoryOptions = {},
): BlockDims {
  const m = ctx.shape;
  const U = l.ulysses;
  const Ls = seqLen / (U * l.ring);
  const zero3 = l.zero === 3;
  const world = U * l.ring * l.dp;
  return {
    B: ctx.microBatch,
    Ls,
    T: ctx.microBatch * Ls,
    e: ctx.bytes.act,
    w: ctx.bytes.weight,
    h: m.hidden,
    q: m.qDim,
    kvd: m.kvDim,
    f: m.ffn,
    d: m.headDim,
    U,
    hq: m.heads / U,
    hk: Math.max(m.kvHeads, U) / U,
    L: U * Ls,
    replicate: m.kvHeads < U,
    R: l.ring,
    zigzag: ctx.ringVariant === 'zigzag',
    c: l.chunks,
    masked: opts.maskedBlocks ?? false,
    threads: CPU_ATTENTION_THREADS,
    cpu: ctx.gpu.kind === 'cpu',
    wire: ctx.gpu.kind === 'cpu' ? 4 : ctx.bytes.act,
    accumulate: false,
    P: m.layerParams,
    unitPad: zero3 ? padTo(m.layerParams, world) : 0,
    world,
  };
}

// ---- §2.2 The step's allocated peak --------------------------------------------------------
//
// What the runtime's allocator holds at each moment of the measured step, on top of the states
// that exist between steps (weights, optimizer states, the ZeRO-2/3 fp32 gradient accumulator):
// the loss moment, the last block's backward, the first block's backward (where every block's
// gradients have appeared), a later micro-step (ZeRO-0/1 hold every .grad by then) and the
// optimizer step. The step's peak is the largest.

export type StepMoment = 'loss' | 'layer_backward' | 'first_layer_backward' | 'optimizer';

export interface StepPeak {
  /** Allocated bytes at the step's peak (what max_memory_allocated measures). */
  allocated: number;
  moment: StepMoment;
  moments: Record<StepMoment, number>;
}

/** The optimizer step's transient above what it starts with (optim/zero.py step and _publish). */
export function optimizerTransient(ctx: PlanContext, l: LayoutChoice): number {
  const P = ctx.shape.params;
  const world = l.ulysses * l.ring * l.dp;
  const cpu = ctx.gpu.kind === 'cpu';
  const w = ctx.bytes.weight;
  let gradBytes: number; // the gradient vector the update reads, fp32
  let owned: number; // parameters this rank updates
  let grads = 0; // .grad tensors alive when the step starts
  let pad = padTo(P, world);
  if (l.zero === 3) {
    const u = zero3Units(ctx);
    const L = ctx.shape.layers;
    const S = (padTo(u.embed, world) + L * padTo(u.block, world) + padTo(u.head, world)) / world;
    owned = S;
    gradBytes = 4 * S; // grad_acc.clone()
    pad = 0;
  } else {
    owned = l.zero >= 1 && world > 1 ? pad / world : pad;
    if (l.zero === 2)
      gradBytes = 4 * owned; // grad_acc.clone()
    else {
      grads = ctx.bytes.grad * P;
      gradBytes = 4 * pad; // the flat fp32 reduction buffer (the update reads its own slice)
    }
  }
  // stage 0/1: the flat buffer appears while every .grad still exists, then they go one by one
  const flatten = l.zero <= 1 ? 4 * pad : 0;
  // the gradient norm in fp64: a copy of the owned gradient and its square
  const norm = gradBytes + 16 * owned - grads;
  // AdamW's denominator, then (ZeRO >= 1 over several ranks) the all-gather of the new weights:
  // gloo gathers into a list (an fp32 staging copy of the flat buffer) from a private copy of the
  // shard, and bf16 travels as an fp32 buffer of its own
  let publish = 0;
  if (l.zero !== 3 && l.zero >= 1 && world > 1 && cpu)
    publish = 4 * pad + 4 * owned + (w < 4 ? 4 * pad : 0);
  const update = gradBytes + 4 * owned - grads + publish;
  return Math.max(flatten, norm, update);
}

/** ZeRO-2's reduction after each micro-step's backward, above what it starts with. */
function zero2Transient(ctx: PlanContext, l: LayoutChoice): number {
  if (l.zero !== 2) return 0;
  const P = ctx.shape.params;
  const world = l.ulysses * l.ring * l.dp;
  const pad = padTo(P, world);
  const flat = 4 * pad; // every .grad flattened into fp32, then dropped
  if (world === 1) return flat;
  const cpu = ctx.gpu.kind === 'cpu';
  // the reduced shard, and on gloo the all-reduce's copy of the flat buffer
  return Math.max(flat, flat - ctx.bytes.grad * P + (4 * pad) / world + (cpu ? 4 * pad : 0));
}

/** What the step's moments are built from (memoryEstimate computes each). */
export interface StepParts {
  /** Saved activations of every layer and the embedding, the last block's recompute, the RoPE tables. */
  saved: number;
  rope: number;
  /** The loss moment's addition (lossBytes). */
  logits: number;
  /** The last block's backward: its peak and its end, above its start (the largest over ring ranks). */
  window: { peak: number; end: number };
  /** The same in a later micro-step of ZeRO-0/1 (each gradient added into its .grad). */
  laterWindow: { peak: number; end: number };
  states: ModelStates;
}

/**
 * The step's allocated peak (docs/planner.md §2.2): the states that live between steps plus the
 * largest of the step's moments. Small tensors the loop keeps (token ids, labels, the attention
 * context's index tensors) are counted from their sizes; the moments are where the traces of the
 * runtime's measured step peak (native/tools/trace_step.py).
 */
export function stepPeak(
  ctx: PlanContext,
  l: LayoutChoice,
  seqLen: number,
  p: StepParts,
): StepPeak {
  const m = ctx.shape;
  const B = ctx.bytes;
  const e = B.act;
  const bf16 = e < 4;
  const world = l.ulysses * l.ring * l.dp;
  const T = (ctx.microBatch * seqLen) / (l.ulysses * l.ring);
  const X = e * T * m.hidden; // one residual-stream tensor
  const L = m.layers;
  const zero3 = l.zero === 3;
  const states = p.states;
  const P = m.params;
  // Between steps: weights, optimizer states, ZeRO-2/3's fp32 gradient accumulator.
  const u = zero3Units(ctx);
  const S = (padTo(u.embed, world) + L * padTo(u.block, world) + padTo(u.head, world)) / world;
  const accumulator = zero3 ? 4 * S : l.zero === 2 ? (4 * padTo(P, world)) / world : 0;
  const base = states.weights + states.optimizer + accumulator;
  // The step's own small tensors (train/loop.py train_step, parallel/layout.py attn_context): per
  // micro-batch, all read up front, the fp32 label weights, RoPE positions and every ring shard's
  // token metadata (28 B a token of the sequence), the local indices (8 B a local position) and
  // the local token metadata (16 B a local token); per micro-step the local positions, labels and
  // weights (20 B a local token; the token ids are the embedding's saved tensor).
  const Ls = seqLen / (l.ulysses * l.ring);
  const data = ctx.gradAccum * (28 * ctx.microBatch * seqLen + 8 * Ls + 16 * T) + 20 * T + 16;
  // End of the forward (the last block returned): every saved tensor, the RoPE tables, the last
  // block's output, and in bf16 runs that keep neither its input (checkpoint, ZeRO-3 gathered call)
  // nor its fp32 norm input, the block's own input too; a checkpointed region's RNG state each.
  const ckpt = l.checkpointing !== 'none';
  const lastInput = bf16 && l.checkpointing !== 'full' && !zero3 ? X : 0;
  const headStart = p.saved + p.rope + X + lastInput + (ckpt ? L * RNG_STATE_BYTES : 0) + data;
  // The head's backward leaves the head's .grad (ZeRO-3: reduced away, but the gathered call
  // still holds the last block's output next to the new gradient).
  const headGrads = zero3 ? X : B.grad * (m.vocab * m.hidden + m.hidden);
  const layerStart = headStart + headGrads;
  // Each block's backward leaves what the window ends with. The window is the last block's, whose
  // input the runtime's accounting holds all step (saved.py keeps the call for its recompute
  // probe); every other block's input goes with its backward where the block kept it (fp32: its
  // first norm saved it; full checkpointing: the checkpoint did). Under ZeRO-3 a block's gathered
  // call frees its own output instead (`del out`), except the one before the last (that output is
  // the held input); the embedding's call frees its output and the gradient it is handed.
  const keptInput = !zero3 && (!bf16 || l.checkpointing === 'full') ? X : 0;
  const net = (i: number) => p.window.end - keptInput + (zero3 && i === L - 2 ? X : 0);
  let firstStart = layerStart + p.window.end;
  for (let i = L - 2; i >= 1; i--) firstStart += net(i);
  // After the embedding's backward: its .grad (tied: already there) for the last gradient.
  const embGrad = zero3 || m.tied ? 0 : B.grad * m.vocab * m.hidden;
  let afterBackward = (L > 1 ? firstStart + net(0) : layerStart + p.window.end) + embGrad - X;
  if (zero3) afterBackward -= X;
  const moments: Record<StepMoment, number> = {
    loss: headStart + p.logits,
    layer_backward: layerStart + p.window.peak,
    first_layer_backward: L > 1 ? firstStart + p.window.peak : 0,
    optimizer: 0,
  };
  // Later micro-steps: the accounting still holds the first one's last-block input and RoPE
  // tables; ZeRO-0/1 hold every .grad, which each gradient is now added into.
  if (ctx.gradAccum > 1) {
    const held = X + p.rope;
    const grads = l.zero <= 1 ? B.grad * P : 0;
    const later = l.zero <= 1 ? p.laterWindow : p.window;
    const start = headStart + held + (l.zero <= 1 ? grads : headGrads);
    moments.loss = Math.max(moments.loss, headStart + held + grads + p.logits);
    moments.layer_backward = Math.max(moments.layer_backward, start + later.peak);
    if (L > 1) {
      const first = start + later.end + (L - 2) * (later.end - keptInput);
      moments.first_layer_backward = Math.max(moments.first_layer_backward, first + later.peak);
    }
    afterBackward += held;
  }
  // ZeRO-2 reduces (and drops) the .grads after each micro-step's backward.
  let optimizer = afterBackward + zero2Transient(ctx, l);
  if (l.zero === 2) afterBackward -= B.grad * P;
  optimizer = Math.max(optimizer, afterBackward + optimizerTransient(ctx, l));
  moments.optimizer = optimizer;
  let moment: StepMoment = 'loss';
  for (const k of Object.keys(moments) as StepMoment[])
    if (moments[k] > moments[moment]) moment = k;
  return { allocated: base + moments[moment], moment, moments };
}

export function memoryEstimate(
  ctx: PlanContext,
  l: LayoutChoice,
  seqLen: number,
  opts: MemoryOptions = {},
): MemoryEstimate {
  const m = ctx.shape;
  const cal = ctx.cal;
  const e = ctx.bytes.act;
  const h = m.hidden;
  const u = l.ulysses;
  const r = l.ring;
  const world = u * r * l.dp;
  const sl = seqLen / (u * r); // local tokens per sequence
  const T = ctx.microBatch * sl; // local tokens per micro-step
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

  // --- workspace: the last block's backward (§3.5) -------------------------------------------
  // Replayed on every ring rank (zigzag and contiguous ranks see different blocks); the runtime
  // reports the largest. Workspace is its peak above the start less the recompute and the
  // block's .grad tensors (ZeRO-3 reduces them inside the window, so there they count).
  const window = layoutWindow(ctx, l, seqLen, opts);
  const laterWindow =
    ctx.gradAccum > 1 && l.zero <= 1 ? layoutWindow(ctx, l, seqLen, opts, true) : window;
  const blockGrads = l.zero === 3 ? 0 : ctx.bytes.grad * m.layerParams;
  const rope = T * m.headDim * 8; // fp32 cos and sin tables, full head_dim, per local position
  const workspace = Math.max(0, window.peak - remat - blockGrads) + rope;

  // --- logits and loss (§3.6) ----------------------------------------------------------------
  const logits = lossBytes(ctx, l, T);

  // --- the step's allocated peak (§2.2) ------------------------------------------------------
  const step = stepPeak(ctx, l, seqLen, { saved, rope, logits, window, laterWindow, states });

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
    stepAllocated: step.allocated,
    stepMoment: step.moment,
  };
}

export function termsOf(mem: MemoryEstimate): Record<MemoryTerm, number> {
  const out = {} as Record<MemoryTerm, number>;
  for (const t of MEMORY_TERMS) out[t] = mem[t];
  return out;
}
