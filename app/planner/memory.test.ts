import { describe, expect, it } from 'vitest';
import { makeConfig, layout, ROUND_CAL } from './fixtures.test-util';
import { planContext } from './context';
import { activationWidths, memoryEstimate } from './memory';
import { planLayout } from './search';
import { MEMORY_TERMS } from './types';

// Tiny model (docs/planner.md §9 works the same example): P = 121,664 parameters,
// h = 64, heads 8, kv 2, head_dim 8, ffn 176, vocab 260, 2 layers; bf16; seq 512 on
// ulysses 2 x ring 2 (T = 128 local tokens); after Ulysses each GPU holds max(2, 2) x 8 = 16 K/V columns.
const P = 121_664;
const T = 128;

describe('memory: hand-derived terms (tiny model, u2 r2 dp1, bf16)', () => {
  const config = makeConfig({ training: { seq_len: 512 } });
  const opts = { calibration: ROUND_CAL, loss: 'materialized' as const };

  it('activation widths per token per layer', () => {
    const w = activationWidths(planContext(config, opts), 2);
    // two fp32 RMSNorms 2(8h + 4) = 1032; bf16 norm outputs, q, o-proj input, k, v: 2 x (2h + 2 qDim + 2 kv) = 576;
    // fp32 attention output 4 qDim = 256 and log-sum-exp 4 heads = 32
    expect(w.selective).toBe(1032 + 576 + 256 + 32);
    // none adds the SwiGLU tensors: 2 B x 4 ffn = 1408
    expect(w.none).toBe(1896 + 1408);
    // full: the block input, 2 B x h
    expect(w.full).toBe(128);
  });

  it('ZeRO-1, no checkpointing, materialized logits: peak at the loss', () => {
    const plan = planLayout(config, layout({ zero: 1 }), undefined, opts);
    const b = plan.memory.breakdown;
    expect(b.weights).toBe(2 * P); // bf16 replica
    expect(b.grads).toBe(2 * P); // bf16, not partitioned at stage 1
    expect(b.optimizer).toBe((12 * P) / 4); // fp32 master + m + v over 4 ranks = 364,992
    expect(b.activations).toBe(2 * 3304 * T); // 845,824
    // fp32 log-softmax output, its gradient and the input gradient (12 B) over T x V, plus final-norm
    // in/out and head-input grad (3 T h x 2 B)
    expect(b.logits).toBe(T * 260 * 12 + 3 * T * 64 * 2); // 448,512
    expect(b.comm_buffers).toBe(5000); // one gradient bucket
    expect(b.workspace).toBe(T * 8 * 8); // fp32 cos and sin tables only at the loss: 8,192
    expect(b.framework).toBe(1000);
    expect(b.nccl).toBe(100 + 3 * 10); // ulysses, ring and world communicators
    const allocated = 2 * P + 2 * P + 364_992 + 845_824 + 448_512 + 5000 + 8192; // 2,159,176
    expect(b.fragmentation).toBe(Math.ceil(0.1 * allocated));
    expect(plan.memory.peak_phase).toBe('loss');
    expect(plan.memory.peak_bytes).toBe(MEMORY_TERMS.reduce((s, t) => s + b[t], 0));
    expect(plan.memory.peak_bytes).toBe(2_376_224);
  });

  it('chunked loss moves the peak to the last layer backward, where SP buffers and workspace live', () => {
    const plan = planLayout(config, layout({ zero: 1 }), undefined, { ...opts, loss: 'chunked', lossChunkTokens: 32 });
    const b = plan.memory.breakdown;
    expect(plan.memory.peak_phase).toBe('layer_backward');
    expect(b.logits).toBe(0);
    // workspace: T x (2h x 2 B + max(MLP 3 ffn x 2 B = 1056, attention 2(2 qDim + 2 kv) + 4 qDim + 8 kv
    // + 2 x 2 kv + 4 heads = 800)) + RoPE tables
    expect(b.workspace).toBe(T * (256 + 1056) + 8192); // 176,128
    // Ulysses q,k,v staging 2 B x T x (64 + 32); incoming ring K,V and dK,dV 2 x kv x T x (2 + 4) B; bucket
    expect(b.comm_buffers).toBe(2 * T * 96 + 2 * 16 * T * 6 + 5000); // 24,576 + 24,576 + 5,000
  });

  it('full checkpointing keeps block inputs and rematerializes one layer', () => {
    const plan = planLayout(config, layout({ checkpointing: 'full' }), undefined, { ...opts, loss: 'chunked', lossChunkTokens: 32 });
    expect(plan.memory.breakdown.activations).toBe(2 * 128 * T + (3304 - 128) * T);
  });

  it('ZeRO-3 shards weights and grads, and gathers one block plus a prefetched one', () => {
    const plan = planLayout(config, layout({ zero: 3 }), undefined, opts);
    const b = plan.memory.breakdown;
    expect(b.weights).toBe((2 * P) / 4);
    expect(b.grads).toBe((2 * P) / 4);
    // At the loss: the LM head gathered (bf16) and its unsharded grad (bf16), plus the next block prefetched.
    expect(plan.memory.peak_phase).toBe('loss');
    expect(b.comm_buffers).toBe(260 * 64 * 4 + 44_160 * 2);
  });

  it('offload moves states to the host and counts host bytes per node', () => {
    const plan = planLayout(config, layout({ zero: 3, offload: { optimizer: true, params: true, activations: false } }), undefined, opts);
    expect(plan.memory.breakdown.optimizer).toBe(0);
    expect(plan.memory.breakdown.weights).toBe(0);
    // per GPU: optimizer states + fp32 grad partition (16 B / 4) + bf16 params shard (2 B / 4); 4 GPUs on the node
    expect(plan.memory.host_bytes).toBe(4 * ((16 * P) / 4 + (2 * P) / 4));
  });

  it('activation offload keeps a two-layer window on the GPU', () => {
    const ctx = planContext(makeConfig({ model: { architecture: { ...makeConfig().model.architecture!, layers: 6 } } }), opts);
    const on = memoryEstimate(ctx, layout({ checkpointing: 'full', offload: { optimizer: false, params: false, activations: true } }), 512);
    const off = memoryEstimate(ctx, layout({ checkpointing: 'full' }), 512);
    expect(off.activations - on.activations).toBe(4 * 128 * T); // 6 layers -> 2 resident
    expect(on.activationOffloadBytes).toBe(4 * 128 * T);
    expect(on.hostBytesPerGpu).toBe(6 * 128 * T);
  });

  it('fp32 runs: 4 B weights and grads, m and v only (no master copy)', () => {
    const plan = planLayout(makeConfig({ training: { precision: 'fp32' } }), layout({ zero: 0 }), undefined, opts);
    expect(plan.memory.breakdown.weights).toBe(4 * P);
    expect(plan.memory.breakdown.grads).toBe(4 * P);
    expect(plan.memory.breakdown.optimizer).toBe(8 * P);
  });

  it('FPDT chunks divide the in-layer transients and SP buffers, not the saved activations', () => {
    // A one-token loss chunk keeps the peak in the layer backward for both, so the terms compare.
    const ctx = planContext(config, { ...opts, loss: 'chunked', lossChunkTokens: 1 });
    const one = memoryEstimate(ctx, layout({ chunks: 1 }), 512);
    const four = memoryEstimate(ctx, layout({ chunks: 4 }), 512);
    expect([one.phase, four.phase]).toEqual(['layer_backward', 'layer_backward']);
    expect(four.activations).toBe(one.activations);
    expect(one.workspace - four.workspace).toBeCloseTo((T * 1056 * 3) / 4, 6);
    expect(one.comm_buffers - four.comm_buffers).toBeCloseTo(((2 * T * 96 + 2 * 16 * T * 6) * 3) / 4, 6);
  });
});

describe('memory: properties', () => {
  const big = (u: number, r: number) =>
    makeConfig({ model: { preset: 'llama-3-8b', architecture: undefined }, training: { seq_len: 131072 }, cluster: { nodes: 1, gpus_per_node: u * r } });

  it('activations fall as ulysses x ring grows', () => {
    const shapes = [
      [1, 1],
      [2, 1],
      [1, 2],
      [2, 2],
      [4, 2],
      [8, 2],
      [8, 4],
      [16, 4],
    ];
    for (const ckpt of ['none', 'selective', 'full'] as const) {
      const acts = shapes.map(([u, r]) => planLayout(big(u, r), layout({ ulysses: u, ring: r, checkpointing: ckpt })).memory.breakdown.activations);
      for (let i = 1; i < acts.length; i++) {
        if (shapes[i][0] * shapes[i][1] > shapes[i - 1][0] * shapes[i - 1][1]) expect(acts[i]).toBeLessThan(acts[i - 1]);
      }
    }
  });

  it('ZeRO-3 model states fall as 1/N', () => {
    const states = [1, 2, 4, 8, 16, 32].map((n) => {
      const b = planLayout(makeConfig({ model: { preset: 'llama-3-8b', architecture: undefined }, cluster: { nodes: 1, gpus_per_node: n } }), layout({ ulysses: 1, ring: 1, dp: n, zero: 3 })).memory.breakdown;
      return { n, bytes: b.weights + b.grads + b.optimizer };
    });
    // 2 + 2 + 12 bytes per parameter, divided over the N ranks (P is divisible by 32, so exactly)
    for (const { n, bytes } of states) expect(bytes).toBe((16 * 8_030_261_248) / n);
  });

  it('peak memory is non-decreasing in seq_len', () => {
    const ctx = planContext(big(4, 2));
    let prev = 0;
    for (let s = 8 * 1024; s <= 2 ** 21; s *= 2) {
      const peak = memoryEstimate(ctx, layout({ ulysses: 4, ring: 2, zero: 3, checkpointing: 'full' }), s).peak;
      expect(peak).toBeGreaterThan(prev);
      prev = peak;
    }
  });
});
