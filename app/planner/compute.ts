// FLOPs and compute time per GPU per micro-step. docs/planner.md §6.
import type { PlanContext } from './context';
import type { LayoutChoice } from './types';

export interface ComputeEstimate {
  /** Forward matmul FLOPs (all blocks + LM head) on this GPU's tokens. */
  matmulFwd: number;
  /** Forward attention FLOPs on this GPU: causal (half the score matrix, exactly s(s+1)/2 pairs) and full. */
  attnFwdCausal: number;
  attnFwdFull: number;
  /** Model FLOPs per micro-step: 3x forward (forward + backward as 2x forward), no recompute. */
  modelFlops: number;
  modelFlopsLegacy: number;
  /** FLOPs the GPU actually executes: flash backward recomputes scores (2.5x forward), plus checkpoint recompute. */
  hardwareFlops: number;
  /** Seconds of compute per micro-step, split by phase (backward includes recompute). */
  fwdS: number;
  bwdS: number;
  /** Attention seconds per layer, forward and backward (ring overlap hides P2P behind these). */
  attnFwdLayerS: number;
  attnBwdLayerS: number;
}

/** Flash-style attention backward recomputes QK^T: 5 matmuls of the forward's 2, i.e. 2.5x. */
const FLASH_BWD_FACTOR = 2.5;

/**
 * Wall seconds per CPU second of one process on a CPU node (kind "cpu"; 1 on GPUs). Its
 * gpus_per_node processes share host_cores cores, one intra-op thread each (torchrun sets
 * OMP_NUM_THREADS=1 for more than one process): with more processes than cores each gets
 * cores/processes of one. Lockstep collectives also leave cores idle while processes wait on
 * each other: cpu_sync_efficiency is the share of the wall clock they compute. host_cores 0 (not
 * known): every process is assumed to have a core. A lone process's extra threads are not
 * credited (its small GEMMs barely use them; not measured).
 */
export function cpuSlowdown(ctx: PlanContext): number {
  if (ctx.gpu.kind !== 'cpu') return 1;
  const cores = ctx.cal.host_cores;
  const share = cores > 0 ? Math.max(1, ctx.gpusPerNode / cores) : 1;
  return share / ctx.cal.cpu_sync_efficiency;
}

export function computeEstimate(
  ctx: PlanContext,
  l: LayoutChoice,
  seqLen: number,
): ComputeEstimate {
  const m = ctx.shape;
  const cal = ctx.cal;
  const sp = l.ulysses * l.ring;
  const T = (ctx.microBatch * seqLen) / sp;
  const blockMm = 2 * T * m.layers * m.layerMatmulParams;
  const headMm = 2 * T * m.vocab * m.hidden;
  const matmulFwd = blockMm + headMm;
  // QK^T and PV: 2 matmuls x 2 FLOPs per multiply-add x qDim per (query, key) pair, per layer.
  // The sequence's pairs are spread evenly over the SP group (zigzag balances causal work).
  const perPair = 4 * m.qDim * m.layers * ctx.microBatch;
  const attnFwdCausal = (perPair * (seqLen * (seqLen + 1))) / 2 / sp;
  const attnFwdFull = (perPair * seqLen * seqLen) / sp;

  const full = l.checkpointing === 'full';
  // Recomputed forward matmuls: the whole block (full) or the SwiGLU MLP (selective, as the
  // runtime checkpoints block.mlp).
  const recomputeMm = full
    ? blockMm
    : l.checkpointing === 'selective'
      ? 2 * T * m.layers * 3 * m.hidden * m.ffn
      : 0;
  const hardwareMm = 3 * matmulFwd + recomputeMm;
  const attnPasses = 1 + FLASH_BWD_FACTOR + (full ? 1 : 0);
  const hardwareFlops = hardwareMm + attnPasses * attnFwdCausal;

  const mmRate = ctx.peakFlops * cal.matmul_efficiency;
  const attnRate = ctx.peakFlops * cal.attention_efficiency;
  // Contiguous ring layout: the last ring rank does (r - 1/2) blocks of causal work where the
  // average is r/2, and everyone waits for it.
  const r = l.ring;
  const imbalance = ctx.ringVariant === 'contiguous' && r > 1 ? (2 * r - 1) / r : 1;
  const attnFwdS = (attnFwdCausal * imbalance) / attnRate;
  const attnBwdS = FLASH_BWD_FACTOR * attnFwdS;

  const recomputeS = recomputeMm / mmRate + (full ? attnFwdS : 0);

  // Framework cost beyond the FLOPs, per block (launches, Python, autograd; on CPU also the SP
  // exchanges' own copies and gloo work: a Ulysses layer, each ring step after the first), and
  // per micro-step (embedding, loss, optimizer, data). Split like the work: a third forward, two
  // thirds backward; full checkpointing adds recompute_overhead_fraction of the blocks' part (the
  // forward's re-run and the checkpoint's own bookkeeping).
  const perLayer =
    cal.layer_overhead_s +
    (l.ulysses > 1 ? cal.ulysses_overhead_s : 0) +
    (r - 1) * cal.ring_step_overhead_s;
  const overhead = m.layers * perLayer + cal.micro_step_overhead_s;
  const recomputeOverhead = full ? m.layers * perLayer * cal.recompute_overhead_fraction : 0;
  // Wall seconds per CPU second of one process (1 on GPUs).
  const slow = cpuSlowdown(ctx);

  return {
    matmulFwd,
    attnFwdCausal,
    attnFwdFull,
    modelFlops: 3 * (matmulFwd + attnFwdCausal),
    modelFlopsLegacy: 3 * (matmulFwd + attnFwdFull),
    hardwareFlops,
    fwdS: slow * (matmulFwd / mmRate + attnFwdS + overhead / 3),
    bwdS:
      slow *
      ((2 * matmulFwd) / mmRate + attnBwdS + recomputeS + (2 * overhead) / 3 + recomputeOverhead),
    attnFwdLayerS: (slow * attnFwdS) / m.layers,
    attnBwdLayerS: (slow * attnBwdS) / m.layers,
  };
}
