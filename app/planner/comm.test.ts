import { describe, expect, it } from 'vitest';
import { makeConfig, layout } from './fixtures.test-util';
import { placement } from './placement';
import { planLayout } from './search';

const P = 121_664; // tiny model parameters
const T = 128; // local tokens: 512 / (2 x 2)
const H100_INTRA = 450e9 * 0.75; // intra_node_gbps x default intra efficiency
const LAT = 20e-6;

describe('placement: ulysses innermost, ring next, dp outermost', () => {
  it('keeps a Ulysses group inside a node when it fits', () => {
    const p = placement(8, 2, 1, 8);
    expect(p.ulysses).toMatchObject({ meanIntraPeers: 7, meanInterPeers: 0, spansNodes: false });
    // ring partners are 8 ranks apart: on the other node
    expect(p.ring).toEqual({ interHopFraction: 1, anyInterHop: true });
  });

  it('splits a Ulysses group that spans nodes into same-node and other-node peers', () => {
    const p = placement(16, 1, 1, 8);
    expect(p.ulysses).toMatchObject({
      meanIntraPeers: 7,
      meanInterPeers: 8,
      maxInterPeers: 8,
      spansNodes: true,
    });
  });

  it('handles groups that straddle node boundaries unevenly', () => {
    // 6 GPUs per node, Ulysses groups of 4: ranks 0-3 | 4-7 (4,5 on node 0; 6,7 on node 1) | 8-11
    const p = placement(4, 1, 3, 6);
    // per rank intra peers: group0 3,3,3,3; group1 1,1,1,1; group2 3,3,3,3 -> mean 28/12
    expect(p.ulysses.meanIntraPeers).toBeCloseTo(28 / 12, 12);
    expect(p.ulysses.maxInterPeers).toBe(2);
  });

  it('ring hops stay inside a node while ulysses x ring fits in it', () => {
    expect(placement(2, 4, 2, 8).ring).toEqual({ interHopFraction: 0, anyInterHop: false });
    // ring of 4 over 2 GPUs per node: hops 0->1 intra, 1->2 inter, 2->3 intra, 3->0 inter
    expect(placement(1, 4, 1, 2).ring).toEqual({ interHopFraction: 0.5, anyInterHop: true });
  });
});

describe('communication: hand-derived bytes (tiny model, u2 r2 dp1 on one 4-GPU H100 node, bf16)', () => {
  const config = makeConfig({});

  it('Ulysses all-to-all: q,k,v and the output, forward and backward, half of it leaves the GPU', () => {
    const k = planLayout(config, layout()).comm.by_kind.ulysses_a2a;
    // per layer and pass: 2 B x T x (2 qDim + 2 kv) = 2 x 128 x (128 + 32) = 40,960 B; 2 passes x 2 layers; (u-1)/u = 1/2
    expect(k.bytes).toBe(4 * 40_960 * 0.5);
    expect(k.intra_bytes).toBe(k.bytes);
    expect(k.inter_bytes).toBe(0);
    expect(k.calls).toBe(4 * 2);
    // blocking: bytes over the intra-node bus, plus a latency per call
    expect(k.time_s).toBeCloseTo((4 * 40_960 * 0.5) / H100_INTRA + 8 * LAT, 12);
    expect(k.overlapped_s).toBeCloseTo(0, 15);
  });

  it('full checkpointing repeats the forward all-to-alls', () => {
    const k = planLayout(config, layout({ checkpointing: 'full' })).comm.by_kind.ulysses_a2a;
    expect(k.bytes).toBe(6 * 40_960 * 0.5);
  });

  it('ring P2P: K,V r-1 times forward and backward, dK,dV r times in fp32', () => {
    const k = planLayout(config, layout()).comm.by_kind.ring_p2p;
    const kv = 2 * 16 * T * 2; // K and V, 16 columns after Ulysses, bf16: 8,192 B
    const dkv = 2 * 16 * T * 4; // fp32: 16,384 B
    expect(k.bytes).toBe(2 * (2 * 1 * kv + 2 * dkv));
    expect(k.inter_bytes).toBe(0);
    // Ring P2P hides behind block attention; what shows is at most the transfer time.
    const total = 2 * (2 * (kv / H100_INTRA + LAT) + 2 * (dkv / H100_INTRA + LAT));
    expect(k.time_s + k.overlapped_s).toBeCloseTo(total, 12);
    expect(k.time_s).toBeLessThanOrEqual(total);
  });

  it('ZeRO-1: one reduce-scatter of grads and one all-gather of params per step', () => {
    const c = planLayout(config, layout({ zero: 1 })).comm.by_kind;
    expect(c.zero_reduce_scatter.bytes).toBe((3 / 4) * 2 * P);
    expect(c.zero_allgather.bytes).toBe((3 / 4) * 2 * P);
    expect(c.dp_allreduce.bytes).toBe(0);
  });

  it('ZeRO-0: one all-reduce over every rank (SP ranks hold partial gradients too)', () => {
    const c = planLayout(config, layout({ zero: 0 })).comm.by_kind;
    expect(c.dp_allreduce.bytes).toBe(2 * (3 / 4) * 2 * P);
    expect(c.zero_allgather.bytes + c.zero_reduce_scatter.bytes).toBe(0);
  });

  it('ZeRO-3: two all-gathers and a reduce-scatter every micro-step', () => {
    const c = planLayout(makeConfig({ training: { grad_accum: 3 } }), layout({ zero: 3 })).comm
      .by_kind;
    expect(c.zero_allgather.bytes).toBe(3 * 2 * (3 / 4) * 2 * P);
    expect(c.zero_reduce_scatter.bytes).toBe(3 * (3 / 4) * 2 * P);
    expect(c.zero_allgather.calls).toBe(3 * 2 * (2 + 2)); // per micro-step and pass: 2 blocks + embedding + head
  });

  it('ZeRO-2 reduce-scatters every micro-step, ZeRO-1 once per step', () => {
    const cfg = makeConfig({ training: { grad_accum: 4 } });
    expect(planLayout(cfg, layout({ zero: 2 })).comm.by_kind.zero_reduce_scatter.bytes).toBe(
      4 * (3 / 4) * 2 * P,
    );
    expect(planLayout(cfg, layout({ zero: 1 })).comm.by_kind.zero_reduce_scatter.bytes).toBe(
      (3 / 4) * 2 * P,
    );
  });

  it('splits bytes by link class from rank placement', () => {
    const twoNodes = makeConfig({ cluster: { nodes: 2, gpus_per_node: 2 } });
    const plan = planLayout(twoNodes, layout());
    // Ulysses pairs (0,1), (2,3) sit inside a node; ring partners (0,2), (1,3) are on different nodes.
    expect(plan.comm.by_kind.ulysses_a2a.inter_bytes).toBe(0);
    expect(plan.comm.by_kind.ring_p2p.intra_bytes).toBe(0);
    // World collectives: NCCL rings cross the network on 2 of the world's 4 hops.
    const zero = plan.comm.by_kind.zero_allgather;
    expect(zero.inter_bytes).toBe(zero.bytes / 2);
    const wide = planLayout(twoNodes, layout({ ulysses: 4, ring: 1 })).comm.by_kind.ulysses_a2a;
    // ulysses 4 > 2 KV heads: 32 K/V columns; message 2 B x 128 x (2 x 64 + 2 x 32) per layer-pass, 4 passes;
    // each rank sends 1/4 of it to each peer: 1 peer on its node, 2 on the other
    expect(wide.intra_bytes).toBe((4 * (2 * 128 * (2 * 64 + 2 * 32)) * 1) / 4);
    expect(wide.inter_bytes).toBe(2 * wide.intra_bytes);
  });
});

describe('communication: properties', () => {
  const at = (u: number, r: number, seq: number) =>
    planLayout(
      makeConfig({
        model: { preset: 'llama-3-8b', architecture: undefined },
        training: { seq_len: seq },
        cluster: { nodes: 1, gpus_per_node: 8 },
      }),
      layout({ ulysses: u, ring: r, dp: 8 / (u * r), zero: 3, checkpointing: 'full' }),
    ).comm.by_kind;

  it('Ulysses bytes per GPU stay constant when seq_len and the Ulysses degree grow together', () => {
    const base = 16 * 1024;
    const bytes = [2, 4, 8].map((u) => at(u, 1, base * u).ulysses_a2a.bytes);
    // local length is fixed, so the all-to-all message is the same; only the (u-1)/u share that leaves varies
    expect(bytes[0] / (1 / 2)).toBeCloseTo(bytes[1] / (3 / 4), 3);
    expect(bytes[1] / (3 / 4)).toBeCloseTo(bytes[2] / (7 / 8), 3);
    expect(bytes[2] / bytes[0]).toBeLessThan(2);
  });

  it('ring bytes per GPU grow with the ring when seq_len grows with it', () => {
    const base = 16 * 1024;
    const bytes = [2, 4, 8].map((r) => at(1, r, base * r).ring_p2p.bytes);
    // forward + recompute + backward K,V: 3 (r-1) blocks; dK,dV: r blocks of twice the size
    const units = (r: number) => 3 * (r - 1) + 2 * r;
    expect(bytes[1] / bytes[0]).toBeCloseTo(units(4) / units(2), 9);
    expect(bytes[2] / bytes[0]).toBeCloseTo(units(8) / units(2), 9);
    expect(bytes[2]).toBeGreaterThan(3 * bytes[0]);
  });

  it('GQA: K and V cost kv_heads/heads of q in the all-to-all until ulysses exceeds kv_heads', () => {
    const cfg = (kv: number) =>
      makeConfig({
        model: {
          architecture: {
            family: 'llama',
            layers: 2,
            hidden: 512,
            heads: 16,
            kv_heads: kv,
            ffn: 1024,
            vocab: 1000,
          },
        },
        training: { seq_len: 4096 },
        cluster: { nodes: 1, gpus_per_node: 8 },
      });
    const bytes = (kv: number, u: number) =>
      planLayout(cfg(kv), layout({ ulysses: u, ring: 1, dp: 8 / u })).comm.by_kind.ulysses_a2a
        .bytes;
    // message per token: 2 qDim + 2 max(kv, u) head_dim columns (head_dim 32, qDim 512)
    expect(bytes(4, 4) / bytes(16, 4)).toBeCloseTo((1024 + 2 * 4 * 32) / (1024 + 2 * 16 * 32), 12);
    // ulysses 8 > 4 KV heads: each rank receives one replicated head
    // 4 passes x 2 B x 512 local tokens x (u-1)/u, per message column
    expect(bytes(4, 8) / ((7 / 8) * 4 * 2 * 512)).toBeCloseTo(1024 + 2 * 8 * 32, 9);
  });
});
