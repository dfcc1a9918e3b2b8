// Communication per GPU per optimizer step, by collective. docs/planner.md §7.
//
// Each kind reports its bytes (sent by this GPU, split by link class) and WHEN its time falls,
// because that decides how much of it hides behind compute:
//   blocking   on the critical path every micro-step (Ulysses all-to-all);
//   ringExposed/ringHidden  ring P2P, per step overlapped with that step's block attention;
//   fwd / bwd  prefetchable per micro-step (ZeRO gathers and reductions), hidden by step.ts
//              behind a share of that phase's compute;
//   lastBwd    once per step, overlapping the last micro-step's backward (DP all-reduce);
//   tail       once per step after backward (ZeRO 1/2 parameter all-gather).
import type { ComputeEstimate } from './compute';
import type { PlanContext } from './context';
import type { Placement } from './placement';
import type { CommKind, LayoutChoice } from './types';

export interface KindTraffic {
  bytes: number;
  intra: number;
  inter: number;
  calls: number;
  /** Seconds per step in each timing class (see the file header). */
  blocking: number;
  ringExposed: number;
  ringHidden: number;
  fwd: number;
  bwd: number;
  lastBwd: number;
  tail: number;
}

export type CommTraffic = Record<CommKind, KindTraffic>;

const empty = (): KindTraffic => ({
  bytes: 0,
  intra: 0,
  inter: 0,
  calls: 0,
  blocking: 0,
  ringExposed: 0,
  ringHidden: 0,
  fwd: 0,
  bwd: 0,
  lastBwd: 0,
  tail: 0,
});

export function commTraffic(
  ctx: PlanContext,
  l: LayoutChoice,
  seqLen: number,
  pl: Placement,
  comp: ComputeEstimate,
): CommTraffic {
  const m = ctx.shape;
  const cal = ctx.cal;
  const gpu = ctx.gpu;
  const e = ctx.bytes.act;
  const u = l.ulysses;
  const r = l.ring;
  const world = u * r * l.dp;
  const ga = ctx.gradAccum;
  const L = m.layers;
  const T = (ctx.microBatch * seqLen) / (u * r);
  const kv = Math.max(m.kvHeads, u) * m.headDim;
  const bwIntra = gpu.intra_node_gbps * 1e9 * cal.intra_node_efficiency;
  const bwInter = gpu.network_gbps * 1e9 * cal.inter_node_efficiency;
  const full = l.checkpointing === 'full';
  const out: CommTraffic = {
    ulysses_a2a: empty(),
    ring_p2p: empty(),
    zero_allgather: empty(),
    zero_reduce_scatter: empty(),
    dp_allreduce: empty(),
  };

  // --- Ulysses all-to-all (§7.1) ------------------------------------------------------------
  if (u > 1) {
    const a = pl.ulysses;
    // One pass of a layer moves q, k, v to head-sharded layout and the attention output back:
    // the GPU's whole local tensors, of which (u-1)/u leave it (1/u stays with itself).
    const msg = e * T * (2 * m.qDim + 2 * kv);
    // forward, backward (gradients of the same tensors), and the recompute forward under full checkpointing
    const passes = (2 + (full ? 1 : 0)) * L * ga;
    const calls = passes * 2 * l.chunks; // packed q,k,v and the output, per FPDT chunk
    const latency = a.spansNodes ? cal.latency_inter_s : cal.latency_intra_s;
    const k = out.ulysses_a2a;
    k.intra = (passes * msg * a.meanIntraPeers) / u;
    k.inter = (passes * msg * a.meanInterPeers) / u;
    k.bytes = k.intra + k.inter;
    k.calls = calls;
    k.blocking =
      passes * msg * Math.max(a.maxIntraPeers / u / bwIntra, a.maxInterPeers / u / bwInter) +
      calls * latency;
  }

  // --- Ring P2P (§7.2) -----------------------------------------------------------------------
  if (r > 1) {
    const bw = pl.ring.anyInterHop ? bwInter : bwIntra;
    const latency = (pl.ring.anyInterHop ? cal.latency_inter_s : cal.latency_intra_s) * l.chunks;
    const kvBlock = 2 * kv * T * e; // this GPU's K and V (head-sharded after Ulysses)
    const dkvBlock = 2 * kv * T * 4; // dK, dV accumulators travel in fp32
    const tKv = kvBlock / bw + latency;
    const tDkv = dkvBlock / bw + latency;
    const fwdPasses = 1 + (full ? 1 : 0);
    // Per layer: every forward pass sends K,V r-1 times; backward sends K,V r-1 times and the
    // dK,dV accumulators r times (r-1 in the loop, one last hop home to their owner).
    const perLayerBytes = (fwdPasses + 1) * (r - 1) * kvBlock + r * dkvBlock;
    const perLayerTime = (fwdPasses + 1) * (r - 1) * tKv + r * tDkv;
    // Each of the r-1 transfers overlaps the attention on the block already held: only the excess shows.
    const fwdStep = comp.attnFwdLayerS / r;
    const bwdStep = comp.attnBwdLayerS / r;
    const perLayerExposed =
      fwdPasses * (r - 1) * Math.max(0, tKv - fwdStep) +
      (r - 1) * Math.max(0, tKv + tDkv - bwdStep) +
      tDkv;
    const k = out.ring_p2p;
    k.bytes = L * ga * perLayerBytes;
    k.inter = k.bytes * pl.ring.interHopFraction;
    k.intra = k.bytes - k.inter;
    k.calls = L * ga * ((fwdPasses + 1) * (r - 1) + r) * l.chunks;
    k.ringExposed = L * ga * perLayerExposed;
    k.ringHidden = L * ga * perLayerTime - k.ringExposed;
  }

  // --- ZeRO and data-parallel collectives over the whole world (§7.3) -----------------------
  if (world > 1) {
    const w = pl.world;
    const bw = w.spansNodes ? bwInter : bwIntra;
    const latency = w.spansNodes ? cal.latency_inter_s : cal.latency_intra_s;
    // NCCL rings visit a node's GPUs consecutively: `nodes` of the world's hops cross the network.
    const interFrac = w.spansNodes ? w.nodes / world : 0;
    const ring = (world - 1) / world; // bytes a GPU sends per byte of a reduce-scatter or all-gather
    const P = m.params;
    const gradMsg = P * ctx.bytes.grad;
    const paramMsg = P * ctx.bytes.weight;
    const units = L + 2; // ZeRO-3 gathers block by block, plus the embedding and the LM head
    const buckets = Math.max(1, Math.ceil(gradMsg / Math.max(1, cal.grad_bucket_bytes)));
    const add = (
      k: KindTraffic,
      bytes: number,
      calls: number,
      when: 'fwd' | 'bwd' | 'lastBwd' | 'tail',
      times: number,
    ) => {
      const s = bytes / bw + calls * latency;
      k.bytes += bytes * times;
      k.inter += bytes * times * interFrac;
      k.intra += bytes * times * (1 - interFrac);
      k.calls += calls * times;
      k[when] += s * times;
    };
    if (l.zero === 0) {
      add(out.dp_allreduce, 2 * ring * gradMsg, buckets, 'lastBwd', 1);
    } else if (l.zero === 1) {
      add(out.zero_reduce_scatter, ring * gradMsg, buckets, 'lastBwd', 1);
      add(out.zero_allgather, ring * paramMsg, buckets, 'tail', 1);
    } else if (l.zero === 2) {
      add(out.zero_reduce_scatter, ring * gradMsg, buckets, 'bwd', ga);
      add(out.zero_allgather, ring * paramMsg, buckets, 'tail', 1);
    } else {
      add(out.zero_allgather, ring * paramMsg, units, 'fwd', ga);
      add(out.zero_allgather, ring * paramMsg, units, 'bwd', ga);
      add(out.zero_reduce_scatter, ring * gradMsg, units, 'bwd', ga);
    }
  }
  return out;
}
