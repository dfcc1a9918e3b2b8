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

  // Launch and framework overhead per block, split like the work: a third forward, two thirds backward.
  const overhead = m.layers * cal.layer_overhead_s;

  return {
    matmulFwd,
    attnFwdCausal,
    attnFwdFull,
    modelFlops: 3 * (matmulFwd + attnFwdCausal),
    modelFlopsLegacy: 3 * (matmulFwd + attnFwdFull),
    hardwareFlops,
    fwdS: matmulFwd / mmRate + attnFwdS + overhead / 3,
    bwdS: (2 * matmulFwd) / mmRate + attnBwdS + recomputeS + (2 * overhead) / 3,
    attnFwdLayerS: attnFwdS / m.layers,
    attnBwdLayerS: attnBwdS / m.layers,
  };
}
