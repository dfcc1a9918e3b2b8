// Layout search: every combination the config leaves "auto", evaluated and ranked.
//
// Ranking (docs/planner.md §10): feasible layouts by seconds per token, the step time normalised by
// the tokens the step trains, so layouts with a different dp (hence a different global batch)
// compare fairly; at equal dp it is the step-time order. Times are compared in bands of
// rankTolerance (1%) above the fastest: closer than that is below what this model can resolve, so
// within a band the layout with more memory headroom wins. Then layouts that only miss on memory or
// sequence divisibility, closest to fitting first; then layouts whose shape can't work at all.
// By default the result keeps the best layout of each (ulysses, ring, dp) factorisation; `all`
// keeps every candidate.
import { modelPresets, type RunConfig } from '../config';
import { planContext, type PlanContext, type PlanOptions } from './context';
import { evaluate, toLayoutPlan, type Evaluation } from './evaluate';
import { maxSeqLen } from './maxseq';
import { memoryEstimate } from './memory';
import { placement } from './placement';
import { checkRules, optionReasons, shapeRules, type RuleCheck } from './rules';
import { commTraffic, type CommTraffic } from './comm';
import { computeEstimate, type ComputeEstimate } from './compute';
import type { LayoutChoice, LayoutPlan, PlanResult } from './types';

type Offload = LayoutChoice['offload'];
const CKPT_INDEX = { none: 0, selective: 1, full: 2 } as const;
type Options = Omit<LayoutChoice, 'ulysses' | 'ring' | 'dp' | 'chunks'>;

export function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}

/** The non-SP choices the config leaves open, invalid combinations of open fields dropped. */
function optionSpace(p: RunConfig['parallel']): Options[] {
  const zeros = p.zero === 'auto' ? ([0, 1, 2, 3] as const) : [p.zero];
  const ckpts =
    p.checkpointing === 'auto' ? (['none', 'selective', 'full'] as const) : [p.checkpointing];
  const bools = (v: boolean | 'auto') => (v === 'auto' ? [false, true] : [v]);
  const all: Options[] = [];
  for (const zero of zeros)
    for (const checkpointing of ckpts)
      for (const optimizer of bools(p.offload.optimizer))
        for (const params of bools(p.offload.params))
          for (const activations of bools(p.offload.activations)) {
            const offload: Offload = { optimizer, params, activations };
            all.push({ zero, checkpointing, offload });
          }
  const valid = all.filter(
    (o) =>
      !(o.offload.params && o.zero !== 3) &&
      !(o.offload.optimizer && o.zero === 0) &&
      !(o.offload.activations && o.checkpointing === 'none'),
  );
  // If the fixed fields make every combination invalid, keep them so the user sees why.
  return valid.length ? valid : all;
}

/** FPDT chunk counts to try for a local sequence: powers of two that split it evenly into long-enough chunks. */
function chunkSpace(ctx: PlanContext, chunks: number | 'auto', localTokens: number): number[] {
  if (chunks !== 'auto') return [chunks];
  const out = [1];
  for (let c = 2; c <= ctx.maxChunks; c *= 2) {
    if (localTokens % c !== 0 || localTokens / c < ctx.minChunkTokens) break;
    out.push(c);
  }
  return out;
}

/** 0 feasible, 1 misses on memory or divisibility, 2 shape impossible. Lower is better. */
function tier(ev: Evaluation): number {
  if (ev.feasible) return 0;
  return ev.rules.shapeImpossible ? 2 : 1;
}

const secondsPerToken = (ev: Evaluation) => ev.stepS / ev.tokensPerStep;

/** Ranks evaluations in place of sort keys: band is only meaningful for feasible ones. */
class Ranker {
  private readonly fastest: number;
  constructor(
    evs: readonly Evaluation[],
    private readonly tolerance: number,
  ) {
    let fastest = Infinity;
    for (const ev of evs)
      if (ev.feasible && secondsPerToken(ev) < fastest) fastest = secondsPerToken(ev);
    this.fastest = fastest;
  }

  private band(ev: Evaluation): number {
    // Bands are anchored at the fastest layout, so the order is a total order (unlike pairwise tolerance).
    return this.tolerance > 0
      ? Math.floor((secondsPerToken(ev) / this.fastest - 1) / this.tolerance + 1e-9)
      : 0;
  }

  readonly compare = (a: Evaluation, b: Evaluation): number => {
    const ta = tier(a);
    const tb = tier(b);
    if (ta !== tb) return ta - tb;
    if (ta === 0) {
      if (this.tolerance > 0) {
        const d = this.band(a) - this.band(b);
        if (d !== 0) return d;
        if (a.mem.peak !== b.mem.peak) return a.mem.peak - b.mem.peak;
      }
      return secondsPerToken(a) - secondsPerToken(b) || a.mem.peak - b.mem.peak;
    }
    return a.mem.peak - b.mem.peak;
  };
}

/**
 * The best of a stream of evaluations under Ranker's order, without keeping the stream: the winner
 * is the least-memory layout in the fastest band, so only candidates inside the band of the fastest
 * seen so far need remembering (the band only narrows as faster layouts arrive). Keeping every
 * candidate alive until the end made the search garbage-collection bound.
 */
class BestPicker {
  private fastest = Infinity;
  private near: Evaluation[] = [];
  private fallback: Evaluation | null = null;
  private readonly ranker = new Ranker([], 0);
  constructor(private readonly tolerance: number) {}

  private within(ev: Evaluation): boolean {
    const ratio = secondsPerToken(ev) / this.fastest - 1;
    return this.tolerance > 0 ? ratio / this.tolerance + 1e-9 < 1 : ratio <= 0;
  }

  offer(ev: Evaluation): void {
    if (!ev.feasible) {
      if (!this.fallback || this.ranker.compare(ev, this.fallback) < 0) this.fallback = ev;
      return;
    }
    if (secondsPerToken(ev) < this.fastest) {
      this.fastest = secondsPerToken(ev);
      this.near = this.near.filter((x) => this.within(x));
    }
    if (this.within(ev)) this.near.push(ev);
  }

  /** Whether a candidate with this peak is certain to lose to what was offered already. */
  outranks(peak: number, capacity: number): boolean {
    if (peak <= capacity) return false;
    return (
      this.near.length > 0 ||
      (this.fallback !== null && tier(this.fallback) === 1 && this.fallback.mem.peak <= peak)
    );
  }

  result(): Evaluation | null {
    if (!this.near.length) return this.fallback;
    let best = this.near[0];
    for (const ev of this.near) {
      const d = ev.mem.peak - best.mem.peak;
      if (
        this.tolerance > 0
          ? d < 0 || (d === 0 && secondsPerToken(ev) < secondsPerToken(best))
          : d < 0
      )
        best = ev;
    }
    return best;
  }
}

export interface SearchOutcome {
  ctx: PlanContext;
  evaluations: Evaluation[];
  candidates: number;
}

/** Evaluate the config's search space. Returns the kept evaluations, ranked best first. */
export function search(config: RunConfig, opts: PlanOptions = {}): SearchOutcome {
  const ctx = planContext(config, opts);
  const p = config.parallel;
  const world = ctx.world;
  const s = ctx.seqLen;
  const us = p.ulysses === 'auto' ? divisors(world) : [p.ulysses];
  const rs = p.ring === 'auto' ? divisors(world) : [p.ring];
  const options = optionSpace(p);
  const tolerance = opts.rankTolerance ?? 0.01;
  const kept: Evaluation[] = [];
  let candidates = 0;

  for (const u of us) {
    for (const r of rs) {
      const fitsWorld = world % (u * r) === 0;
      // An open degree that doesn't divide the cluster is simply not a layout of it; a fixed pair
      // that doesn't is the user's choice and gets a row saying why it can't run.
      if (!fitsWorld && (p.ulysses === 'auto' || p.ring === 'auto')) continue;
      const dp = fitsWorld ? world / (u * r) : Math.max(1, Math.floor(world / (u * r)));
      const pl = placement(u, r, dp, ctx.gpusPerNode);
      const chunkList = chunkSpace(ctx, p.chunks, s / (u * r));
      // Shared parts, filled lazily: rules per chunk count, compute per checkpointing policy,
      // traffic per (checkpointing, chunks, zero). Offload variants reuse all three.
      const rulesByChunk: (RuleCheck | undefined)[] = [];
      const computeByCkpt: (ComputeEstimate | undefined)[] = [];
      const trafficBy: (CommTraffic | undefined)[] = [];
      const picker = new BestPicker(tolerance);
      let impossible = false;
      for (const o of options) {
        const ck = CKPT_INDEX[o.checkpointing];
        for (let ci = 0; ci < chunkList.length; ci++) {
          const l: LayoutChoice = {
            ulysses: u,
            ring: r,
            dp,
            zero: o.zero,
            checkpointing: o.checkpointing,
            offload: o.offload,
            chunks: chunkList[ci],
          };
          const shape = (rulesByChunk[ci] ??= shapeRules(ctx, l, s));
          const bad = optionReasons(l);
          const rules = bad
            ? {
                reasons: [...shape.reasons, ...bad],
                notes: shape.notes,
                shapeImpossible: shape.shapeImpossible,
              }
            : shape;
          candidates++;
          // Memory first: a layout over capacity can't beat a feasible one, nor an infeasible one
          // that needs less, so its time is only worth computing when every candidate is returned.
          const mem = memoryEstimate(ctx, l, s);
          if (!opts.all && !rules.shapeImpossible && picker.outranks(mem.peak, ctx.capacityBytes))
            continue;
          const compute = (computeByCkpt[ck] ??= computeEstimate(ctx, l, s));
          const ti = (ck * chunkList.length + ci) * 4 + o.zero;
          const traffic = (trafficBy[ti] ??= commTraffic(ctx, l, s, pl, compute));
          const ev = evaluate(ctx, l, s, { placement: pl, rules, mem, compute, traffic });
          if (opts.all) kept.push(ev);
          else picker.offer(ev);
          // A head split or GPU count that can't work won't work with other options either: one row says so.
          impossible = rules.shapeImpossible;
          if (impossible) break;
        }
        if (impossible) break;
      }
      const best = opts.all ? null : picker.result();
      if (best) kept.push(best);
    }
  }
  kept.sort(new Ranker(kept, tolerance).compare);
  return { ctx, evaluations: kept, candidates };
}

/** Plan a config: search the open fields, rank, and (with maxSeq) find each layout's longest sequence. */
export function planConfig(config: RunConfig, opts: PlanOptions = {}): PlanResult {
  const { ctx, evaluations, candidates } = search(config, opts);
  const layouts: LayoutPlan[] = evaluations.map((ev) =>
    toLayoutPlan(
      ctx,
      ev,
      opts.maxSeq && !ev.rules.shapeImpossible ? maxSeqLen(ctx, ev.choice) : null,
    ),
  );
  const m = ctx.shape;
  const embedding = m.embeddingParams + m.headParams;
  return {
    model: {
      name: modelName(config),
      params: m.params,
      params_embedding: embedding,
      params_non_embedding: m.params - embedding,
      layers: m.layers,
      hidden: m.hidden,
      vocab: m.vocab,
    },
    cluster: {
      gpu: ctx.gpu.id,
      gpu_label: ctx.gpu.label,
      nodes: ctx.nodes,
      gpus_per_node: ctx.gpusPerNode,
      world: ctx.world,
      capacity_bytes: ctx.capacityBytes,
    },
    seq_len: ctx.seqLen,
    layouts,
    best: layouts.length && layouts[0].feasible ? 0 : null,
    candidates,
  };
}

function modelName(config: RunConfig): string {
  if (config.model.architecture) return 'custom architecture';
  return modelPresets[config.model.preset ?? '']?.label ?? String(config.model.preset);
}

/** Evaluate one given layout (the UI's "what if"), at the config's seq_len or another. */
export function planLayout(
  config: RunConfig,
  layout: LayoutChoice,
  seqLen?: number,
  opts: PlanOptions = {},
): LayoutPlan {
  const ctx = planContext(config, { ...opts, seqLen: seqLen ?? opts.seqLen });
  const rules = checkRules(ctx, layout, ctx.seqLen);
  const ev = evaluate(ctx, layout, ctx.seqLen, { rules });
  return toLayoutPlan(
    ctx,
    ev,
    opts.maxSeq && !rules.shapeImpossible ? maxSeqLen(ctx, layout) : null,
  );
}
