// Layout rules that do not depend on memory: how heads, KV heads and tokens divide over the SP
// group, and which offload options need which ZeRO stage / checkpointing policy. Messages are
// written for the person editing the config: what is wrong and what would make it right.
import type { PlanContext } from './context';
import type { LayoutChoice } from './types';

export interface RuleCheck {
  /** Blocking: the layout cannot run. */
  reasons: string[];
  /** Non-blocking remarks worth showing next to the layout. */
  notes: string[];
  /** The layout's shape itself is impossible (head split, GPU count): no sequence length helps. */
  shapeImpossible: boolean;
}

/** Smallest step between sequence lengths this layout can run: the zigzag split, the SP split and the chunks. */
export function seqGranularity(
  ctx: Pick<PlanContext, 'ringVariant'>,
  l: Pick<LayoutChoice, 'ulysses' | 'ring' | 'chunks'>,
): number {
  const zig = ctx.ringVariant === 'zigzag' && l.ring > 1 ? 2 * l.ring : 1;
  return lcm(zig, l.ulysses * l.ring * l.chunks);
}

/** All rules for one layout at one sequence length. */
export function checkRules(ctx: PlanContext, l: LayoutChoice, seqLen: number): RuleCheck {
  const shape = shapeRules(ctx, l, seqLen);
  const options = optionReasons(l);
  if (!options) return shape;
  return {
    reasons: [...shape.reasons, ...options],
    notes: shape.notes,
    shapeImpossible: shape.shapeImpossible,
  };
}

/**
 * Rules on the SP/DP shape: GPU count, head and KV-head split, token split (SP, zigzag, chunks).
 * They don't depend on ZeRO, checkpointing or offload, so the search checks them once per shape.
 */
export function shapeRules(
  ctx: PlanContext,
  l: Pick<LayoutChoice, 'ulysses' | 'ring' | 'dp' | 'chunks'>,
  seqLen: number,
): RuleCheck {
  const reasons: string[] = [];
  const notes: string[] = [];
  const m = ctx.shape;
  const u = l.ulysses;
  const r = l.ring;
  let shapeImpossible = false;

  const used = u * r * l.dp;
  if (used !== ctx.world) {
    shapeImpossible = true;
    reasons.push(
      `ulysses ${u} × ring ${r} × dp ${l.dp} = ${used} GPUs, but the cluster has ${ctx.world} (${ctx.nodes} node${ctx.nodes > 1 ? 's' : ''} × ${ctx.gpusPerNode})`,
    );
  }
  if (m.heads % u !== 0) {
    shapeImpossible = true;
    reasons.push(
      `${m.heads} attention heads can't be split evenly over ulysses ${u}: the Ulysses degree must divide the head count`,
    );
  }
  if (m.kvHeads % u !== 0) {
    if (u % m.kvHeads === 0) {
      notes.push(
        `each of the ${m.kvHeads} KV heads is replicated ${u / m.kvHeads}× across the Ulysses group (ulysses ${u} > kv_heads ${m.kvHeads}): more all-to-all bytes and K/V memory`,
      );
    } else {
      shapeImpossible = true;
      reasons.push(
        `${m.kvHeads} KV heads can't be shared out over ulysses ${u}: it needs ulysses to divide ${m.kvHeads}, or to be a multiple of it so each KV head can be replicated`,
      );
    }
  }
  if (seqLen % (u * r) !== 0) {
    reasons.push(
      `seq_len ${seqLen} isn't divisible by ulysses × ring = ${u * r}: every rank must hold the same number of tokens`,
    );
  } else if (ctx.ringVariant === 'zigzag' && r > 1 && seqLen % (2 * r) !== 0) {
    reasons.push(
      `zigzag ring attention cuts the sequence into 2 × ring = ${2 * r} pieces: seq_len ${seqLen} isn't divisible by ${2 * r}`,
    );
  } else if ((seqLen / (u * r)) % l.chunks !== 0) {
    reasons.push(
      `the local sequence of ${seqLen / (u * r)} tokens can't be cut into ${l.chunks} equal chunks`,
    );
  }
  if (u > ctx.gpusPerNode && !shapeImpossible) {
    notes.push(`the Ulysses group (${u} GPUs) spans nodes: its all-to-alls cross the network`);
  }
  if (ctx.ringVariant === 'contiguous' && r > 1) {
    notes.push(
      'contiguous ring layout: causal attention work is unbalanced across ring ranks (zigzag evens it out)',
    );
  }
  return { reasons, notes, shapeImpossible };
}

/** Offload options that need a ZeRO stage or checkpointing policy the layout lacks; null when none. */
export function optionReasons(
  l: Pick<LayoutChoice, 'zero' | 'checkpointing' | 'offload'>,
): string[] | null {
  // The search calls this for every candidate: allocate only when something is wrong.
  if (
    !(l.offload.params && l.zero !== 3) &&
    !(l.offload.optimizer && l.zero === 0) &&
    !(l.offload.activations && l.checkpointing === 'none')
  ) {
    return null;
  }
  const reasons: string[] = [];
  if (l.offload.params && l.zero !== 3)
    reasons.push(`parameter offload needs ZeRO-3 (this layout has zero ${l.zero})`);
  if (l.offload.optimizer && l.zero === 0)
    reasons.push(
      'optimizer offload needs ZeRO 1 or higher: the host optimizer updates a partition of the states',
    );
  if (l.offload.activations && l.checkpointing === 'none') {
    reasons.push(
      'activation offload moves checkpointed activations to the host: use checkpointing full or selective',
    );
  }
  return reasons;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}
