// One layout at one sequence length: memory, compute, communication, host copies and the step
// time they add up to. docs/planner.md §8 gives the step-time sum and the overlap rules.
import { commTraffic, type CommTraffic, type KindTraffic } from './comm';
import { computeEstimate, type ComputeEstimate } from './compute';
import type { PlanContext } from './context';
import { memoryEstimate, type MemoryEstimate } from './memory';
import { placement, type Placement } from './placement';
import { checkRules, type RuleCheck } from './rules';
import {
  COMM_KINDS,
  MEMORY_TERMS,
  type CommKind,
  type LayoutChoice,
  type LayoutPlan,
  type MemoryTerm,
} from './types';
import { formatBytes } from './units';

export interface Evaluation {
  choice: LayoutChoice;
  seqLen: number;
  rules: RuleCheck;
  mem: MemoryEstimate;
  comp: ComputeEstimate;
  traffic: CommTraffic;
  /** Share of each prefetchable phase's traffic compute could not hide (see exposedOf). */
  fwdShare: number;
  bwdShare: number;
  lastShare: number;
  commExposedS: number;
  /** Host<->GPU offload copies per step: bytes, total seconds, exposed seconds. */
  hostBytes: number;
  hostS: number;
  hostExposedS: number;
  optimizerS: number;
  computeS: number;
  stepS: number;
  tokensPerStep: number;
  feasible: boolean;
}

function exposedTime(
  t: KindTraffic,
  fwdShare: number,
  bwdShare: number,
  lastShare: number,
): number {
  return (
    t.blocking +
    t.ringExposed +
    t.tail +
    t.fwd * fwdShare +
    t.bwd * bwdShare +
    t.lastBwd * lastShare
  );
}

/** Exposed seconds per step of one collective kind. */
export function exposedOf(ev: Evaluation, kind: CommKind): number {
  return exposedTime(ev.traffic[kind], ev.fwdShare, ev.bwdShare, ev.lastShare);
}

/** Memory-only view, for the max-sequence search (no need for time there). */
export function fitsAt(ctx: PlanContext, l: LayoutChoice, seqLen: number): boolean {
  return memoryEstimate(ctx, l, seqLen).peak <= ctx.capacityBytes;
}

/**
 * Parts of an evaluation the search shares between candidates: the placement and shape rules
 * depend only on (ulysses, ring, dp), compute only adds checkpointing, and communication only adds
 * chunks and the ZeRO stage, so offload variants reuse them. Each must match the layout given.
 */
export interface Shared {
  placement?: Placement;
  rules?: RuleCheck;
  mem?: MemoryEstimate;
  compute?: ComputeEstimate;
  traffic?: CommTraffic;
}

export function evaluate(
  ctx: PlanContext,
  l: LayoutChoice,
  seqLen: number,
  shared: Shared = {},
): Evaluation {
  const cal = ctx.cal;
  const m = ctx.shape;
  const ga = ctx.gradAccum;
  const world = l.ulysses * l.ring * l.dp;
  const check = shared.rules ?? checkRules(ctx, l, seqLen);
  const mem = shared.mem ?? memoryEstimate(ctx, l, seqLen);
  const comp = shared.compute ?? computeEstimate(ctx, l, seqLen);
  const traffic =
    shared.traffic ??
    commTraffic(
      ctx,
      l,
      seqLen,
      shared.placement ?? placement(l.ulysses, l.ring, l.dp, ctx.gpusPerNode),
      comp,
    );

  // --- host copies for offload (§8.2) ---------------------------------------------------------
  const pcie = ctx.gpu.pcie_gbps * 1e9 * cal.pcie_efficiency;
  const B = ctx.bytes;
  const shard = l.zero >= 1 ? world : 1;
  // ZeRO-3 parameter offload: this GPU's shard comes up from the host for forward and backward.
  const paramFetch = l.offload.params ? (m.params * B.weight) / world : 0;
  const actBytes = mem.activationOffloadBytes;
  const hostFwdS = (paramFetch + actBytes) / pcie; // per micro-step
  const hostBwdS = (paramFetch + actBytes) / pcie;
  let hostTailS = 0;
  let hostBytes = ga * 2 * (paramFetch + actBytes);
  if (l.offload.optimizer) {
    // Gradient partition down; updated bf16 parameters back up unless they live on the host anyway.
    const down = (m.params * B.grad) / shard;
    const up = l.offload.params ? 0 : (m.params * B.weight) / shard;
    hostBytes += down + up;
    // The node's CPUs update every local GPU's partition.
    hostTailS =
      (down + up) / pcie + ((m.params / shard) * ctx.gpusPerNode) / cal.cpu_adam_params_per_s;
  }

  // --- optimizer update on the GPU: memory-bound AdamW over the local partition --------------
  // bf16: read/write fp32 master+m+v, read the grad (twice: norm for clipping, then the update),
  // write the bf16 copy; fp32: the weights are the master and are read and written.
  const perParam = B.masterCopy
    ? 2 * B.optim + 2 * B.grad + B.weight
    : 2 * B.optim + 2 * B.grad + 2 * B.weight;
  const optimizerS = l.offload.optimizer
    ? 0
    : ((m.params / shard) * perParam) / (ctx.gpu.hbm_gbps * 1e9 * cal.hbm_efficiency);

  // --- overlap of prefetchable traffic with compute (§8.1) -------------------------------------
  const {
    ulysses_a2a: ua,
    ring_p2p: rp,
    zero_allgather: ag,
    zero_reduce_scatter: rs,
    dp_allreduce: ar,
  } = traffic;
  const fwdTraffic = hostFwdS * ga + ua.fwd + rp.fwd + ag.fwd + rs.fwd + ar.fwd;
  const bwdTraffic = hostBwdS * ga + ua.bwd + rp.bwd + ag.bwd + rs.bwd + ar.bwd;
  const lastTraffic = ua.lastBwd + rp.lastBwd + ag.lastBwd + rs.lastBwd + ar.lastBwd;
  const fwdWindow = cal.overlap_fraction * comp.fwdS * ga;
  const bwdWindow = cal.overlap_fraction * comp.bwdS * ga;
  // The share of each phase's traffic that compute cannot hide; every kind in it is exposed pro rata.
  const fwdShare = fwdTraffic > 0 ? Math.max(0, fwdTraffic - fwdWindow) / fwdTraffic : 0;
  const bwdShare = bwdTraffic > 0 ? Math.max(0, bwdTraffic - bwdWindow) / bwdTraffic : 0;
  // Once-per-step reductions overlap what is left of the last micro-step's backward window.
  const lastWindow = Math.max(0, cal.overlap_fraction * comp.bwdS - bwdTraffic / ga);
  const lastShare = lastTraffic > 0 ? Math.max(0, lastTraffic - lastWindow) / lastTraffic : 0;
  const commExposed =
    exposedTime(ua, fwdShare, bwdShare, lastShare) +
    exposedTime(rp, fwdShare, bwdShare, lastShare) +
    exposedTime(ag, fwdShare, bwdShare, lastShare) +
    exposedTime(rs, fwdShare, bwdShare, lastShare) +
    exposedTime(ar, fwdShare, bwdShare, lastShare);
  const hostTotal = (hostFwdS + hostBwdS) * ga + hostTailS;
  const hostExposed = hostFwdS * ga * fwdShare + hostBwdS * ga * bwdShare + hostTailS;

  const computeS = ga * (comp.fwdS + comp.bwdS);
  const stepS = computeS + commExposed + hostExposed + optimizerS;
  return {
    choice: l,
    seqLen,
    rules: check,
    mem,
    comp,
    traffic,
    fwdShare,
    bwdShare,
    lastShare,
    commExposedS: commExposed,
    hostBytes,
    hostS: hostTotal,
    hostExposedS: hostExposed,
    optimizerS,
    computeS,
    stepS,
    tokensPerStep: seqLen * ctx.microBatch * ga * l.dp,
    feasible: check.reasons.length === 0 && mem.peak <= ctx.capacityBytes,
  };
}

/** The memory reason, written for a person: how much, over what, and what dominates. */
export function memoryReason(ctx: PlanContext, ev: Evaluation): string | null {
  const over = ev.mem.peak - ctx.capacityBytes;
  if (over <= 0) return null;
  let top: (typeof MEMORY_TERMS)[number] = 'weights';
  for (const t of MEMORY_TERMS) if (ev.mem[t] > ev.mem[top]) top = t;
  return (
    `needs ${formatBytes(ev.mem.peak)} per GPU, ${formatBytes(over)} more than the ${formatBytes(ctx.capacityBytes)} of a ${ctx.gpu.label}; ` +
    `largest term: ${top} ${formatBytes(ev.mem[top])}`
  );
}

function ceilTerms(terms: Record<MemoryTerm, number>): Record<MemoryTerm, number> {
  const out = {} as Record<MemoryTerm, number>;
  for (const t of MEMORY_TERMS) out[t] = Math.ceil(terms[t]);
  return out;
}

export function toLayoutPlan(
  ctx: PlanContext,
  ev: Evaluation,
  maxSeqLen: number | null = null,
): LayoutPlan {
  const l = ev.choice;
  const ga = ctx.gradAccum;
  const breakdown = {} as LayoutPlan['memory']['breakdown'];
  let peak = 0;
  for (const t of MEMORY_TERMS) {
    breakdown[t] = Math.ceil(ev.mem[t]);
    peak += breakdown[t];
  }
  const byKind = {} as LayoutPlan['comm']['by_kind'];
  let bytes = 0;
  let overlapped = 0;
  for (const k of COMM_KINDS) {
    const t = ev.traffic[k];
    const total = t.blocking + t.ringExposed + t.ringHidden + t.fwd + t.bwd + t.lastBwd + t.tail;
    const exposed = exposedOf(ev, k);
    byKind[k] = {
      bytes: Math.round(t.bytes),
      time_s: exposed,
      intra_bytes: Math.round(t.intra),
      inter_bytes: Math.round(t.inter),
      overlapped_s: total - exposed,
      calls: Math.round(t.calls),
    };
    bytes += byKind[k].bytes;
    overlapped += total - exposed;
  }
  const reasons = [...ev.rules.reasons];
  // A shape that can't run has no meaningful memory verdict: its reasons say what to change first.
  const mr = ev.rules.shapeImpossible ? null : memoryReason(ctx, ev);
  if (mr) reasons.push(mr);
  const flops = ga * ev.comp.modelFlops;
  const peakTime = ctx.peakFlops * ev.stepS;
  return {
    ulysses: l.ulysses,
    ring: l.ring,
    dp: l.dp,
    zero: l.zero,
    checkpointing: l.checkpointing,
    offload: { ...l.offload },
    chunks: l.chunks,
    feasible: reasons.length === 0,
    reasons,
    notes: [...ev.rules.notes],
    seq_len: ev.seqLen,
    memory: {
      peak_bytes: peak,
      capacity_bytes: ctx.capacityBytes,
      breakdown,
      peak_phase: ev.mem.phase,
      phases: {
        loss: ceilTerms(ev.mem.phases.loss),
        layer_backward: ceilTerms(ev.mem.phases.layer_backward),
      },
      saved: {
        per_layer: Math.ceil(ev.mem.savedPerLayer),
        embedding: Math.ceil(ev.mem.savedEmbedding),
        remat: Math.ceil(ev.mem.remat),
      },
      host_bytes: Math.ceil(
        ev.mem.hostBytesPerGpu * Math.min(ctx.gpusPerNode, l.ulysses * l.ring * l.dp),
      ),
    },
    comm: {
      bytes_per_step: bytes,
      time_s: ev.commExposedS,
      overlapped_s: overlapped,
      by_kind: byKind,
    },
    compute: {
      flops_per_step: flops,
      hardware_flops_per_step: ga * ev.comp.hardwareFlops,
      time_s: ev.computeS,
    },
    host_io: {
      bytes_per_step: Math.round(ev.hostBytes),
      time_s: ev.hostExposedS,
      overlapped_s: ev.hostS - ev.hostExposedS,
    },
    time: {
      compute_s: ev.computeS,
      comm_exposed_s: ev.commExposedS,
      host_exposed_s: ev.hostExposedS,
      optimizer_s: ev.optimizerS,
    },
    step_time_s: ev.stepS,
    tokens_per_step: ev.tokensPerStep,
    tokens_per_s: ev.tokensPerStep / ev.stepS,
    mfu: flops / peakTime,
    mfu_legacy: (ga * ev.comp.modelFlopsLegacy) / peakTime,
    max_seq_len: maxSeqLen,
  };
}
