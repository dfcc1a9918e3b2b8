import { describe, expect, it } from 'vitest';
import { makeConfig, layout, ROUND_CAL, TINY_ARCH } from './fixtures.test-util';
import { planContext } from './context';
import { allocatedAtPeak } from './compare';
import { activationWidths, memoryEstimate } from './memory';
import { planLayout } from './search';
import { torchBehaviour } from './torch';
import { MEMORY_TERMS } from './types';

// Tiny model (docs/planner.md §9 works the same example): P = 121,664 parameters,
// h = 64, heads 8, kv 2, head_dim 8, ffn 176, vocab 260, 2 layers; bf16; seq 512 on
// ulysses 2 x ring 2 (T = 128 local tokens); after Ulysses each GPU holds max(2, 2) x 8 = 16 K/V columns.
const P = 121_664;
const T = 128;
const h = 64;
const V = 260;

describe('memory: hand-derived terms (tiny model, u2 r2 dp1, bf16)', () => {
  const config = makeConfig({ training: { seq_len: 512, loss: 'materialized' } });
  const opts = { calibration: ROUND_CAL };

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

  it('torch < 2 also keeps each RMSNorm squared input (4 B x h per norm)', () => {
    const w = activationWidths(planContext(config, { ...opts, torch: '1.13.0a0' }), 2);
    expect(w.none).toBe(3304 + 2 * 4 * h);
    expect(w.full).toBe(128);
    expect(torchBehaviour('2.4.1+cu121').meanSavesInput).toBe(false);
    expect(torchBehaviour('1.13.0a0').meanSavesInput).toBe(true);
    expect(() => torchBehaviour('nightly')).toThrow(/torch version/);
  });

  it('ZeRO-1, no checkpointing, materialized logits: peak at the loss', () => {
    const plan = planLayout(config, layout({ zero: 1 }), undefined, opts);
    const b = plan.memory.breakdown;
    expect(b.weights).toBe(2 * P); // bf16 flat buffer (P divides by 4: no padding)
    expect(b.grads).toBe(2 * P); // bf16 .grad of every parameter
    expect(b.optimizer).toBe((12 * P) / 4); // fp32 master + m + v over 4 ranks = 364,992
    // per layer: 3,304 B x T + the fp32 copies of the two norm weights (2 x 4h); the embedding's int64 ids
    const perLayer = 3304 * T + 2 * 4 * h;
    expect(plan.memory.saved).toEqual({ per_layer: perLayer, embedding: 8 * T, remat: 0 });
    expect(b.activations).toBe(2 * perLayer + 8 * T); // 847,872
    // 12 B per logit (fp32 log-softmax, its incoming and outgoing gradients), the final norm's working
    // set (8h + 4 per token) and its fp32 weight copy
    expect(b.logits).toBe(T * V * 12 + T * (8 * h + 4) + 4 * h); // 465,664
    expect(b.comm_buffers).toBe(4 * P); // the fp32 flat buffer the step reduces gradients in
    expect(b.workspace).toBe(T * 8 * 8); // fp32 cos and sin tables only at the loss: 8,192
    expect(b.framework).toBe(1000);
    expect(b.nccl).toBe(100 + 3 * 10); // ulysses, ring and world communicators
    const allocated = 2 * P + 2 * P + 364_992 + 847_872 + 465_664 + 4 * P + 8192; // 2,660,032
    expect(b.fragmentation).toBe(Math.ceil(0.1 * allocated));
    expect(plan.memory.peak_phase).toBe('loss');
    expect(plan.memory.peak_bytes).toBe(MEMORY_TERMS.reduce((s, t) => s + b[t], 0));
    expect(plan.memory.peak_bytes).toBe(2_927_166);
    expect(plan.memory.phases.loss).toEqual(b);
    // What a run's allocator peak is compared with: the peak less fixed costs and slack.
    expect(allocatedAtPeak(plan)).toBe(allocated);
  });

  it('chunked loss: kept dL/dh and dL/dW, one chunk of fp32 logits with its log-sum-exp temporary', () => {
    const plan = planLayout(config, layout({ zero: 1 }), undefined, {
      ...opts,
      loss: 'chunked',
      lossChunkTokens: 32,
    });
    const norm = T * (8 * h + 4) + 4 * h;
    const kept = 2 * h * T + 4 * V * h; // dL/dh (bf16), dL/dW (fp32)
    // the dW update outweighs 8 B per logit for 32-token chunks: fp32 gradient 4nV, its bf16 copy 2nV,
    // the chunk's dW product (bf16) and its fp32 copy
    const fwd = norm + 2 * h * T + kept + (4 * 32 * V + 2 * 32 * V + 6 * V * h);
    const bwd = norm + kept + 2 * h * T + 4 * V * h + 2 * V * h;
    expect(plan.memory.phases.loss.logits).toBe(Math.max(fwd, bwd));
    // one chunk of all 128 tokens: 8 B per logit + 8 B per token against the dW update
    const big = planLayout(config, layout({ zero: 1 }), undefined, {
      ...opts,
      loss: 'chunked',
      lossChunkTokens: 4096,
    });
    const chunk = Math.max(8 * T * V + 8 * T, 4 * T * V + 2 * T * V + 6 * V * h);
    expect(big.memory.phases.loss.logits).toBe(norm + 2 * h * T + kept + chunk);
  });

  it('the last block backward: its recompute, in-layer transients and SP staging', () => {
    const plan = planLayout(config, layout({ zero: 1 }), undefined, {
      ...opts,
      loss: 'chunked',
      lossChunkTokens: 1,
    });
    const b = plan.memory.phases.layer_backward;
    expect(b.logits).toBe(0);
    // workspace: T x (2h x 2 B + max(MLP 3 ffn x 2 B = 1056, attention 800)) + RoPE tables, plus the
    // Ulysses q,k,v staging 2 B x T x (64 + 32) and the ring's incoming K,V and dK,dV 2 x kv x T x (2 + 4) B
    expect(b.workspace).toBe(T * (256 + 1056) + 8192 + 2 * T * 96 + 2 * 16 * T * 6);
  });

  it('full checkpointing keeps block inputs and recomputes one block whole', () => {
    const plan = planLayout(config, layout({ checkpointing: 'full' }), undefined, opts);
    // bf16: the recompute keeps its own fp32 norm copies; the kept input is not one of its tensors
    expect(plan.memory.saved).toEqual({
      per_layer: 128 * T,
      embedding: 8 * T,
      remat: 3304 * T + 2 * 4 * h,
    });
    expect(plan.memory.phases.layer_backward.activations).toBe(
      2 * 128 * T + 8 * T + 3304 * T + 2 * 4 * h,
    );
    // fp32: the first norm's fp32 input is the kept block input itself
    const fp32 = planLayout(
      makeConfig({ training: { seq_len: 512, precision: 'fp32' } }),
      layout({ checkpointing: 'full' }),
      undefined,
      opts,
    );
    const none32 = activationWidths(
      planContext(makeConfig({ training: { precision: 'fp32' } }), opts),
      2,
    ).none;
    expect(fp32.memory.saved.remat).toBe(none32 * T - 4 * h * T);
  });

  it('selective checkpointing recomputes the MLP inside', () => {
    const plan = planLayout(config, layout({ checkpointing: 'selective' }), undefined, opts);
    expect(plan.memory.saved).toEqual({
      per_layer: 1896 * T + 2 * 4 * h,
      embedding: 8 * T,
      remat: 4 * 176 * 2 * T,
    });
  });

  it('ZeRO-3 shards per unit, keeps block inputs, and holds one gathered unit and one unsharded gradient', () => {
    const plan = planLayout(config, layout({ zero: 3 }), undefined, opts);
    const b = plan.memory.breakdown;
    // units: embedding 16,640, two blocks of 44,160, head (final norm + LM head) 16,704 - all divide by 4
    expect(b.weights).toBe((2 * P) / 4);
    expect(b.optimizer).toBe((12 * P) / 4);
    // fp32 shard accumulator, plus the largest unit's bf16 gradients and its fp32 reduce-scatter buffer
    expect(b.grads).toBe((4 * P) / 4 + 6 * 44_160);
    expect(b.comm_buffers).toBe(2 * 44_160); // one gathered block (no prefetch)
    // each gathered block call keeps its bf16 input
    expect(plan.memory.saved.per_layer).toBe((3304 + 2 * h) * T + 2 * 4 * h);
    // the gathered head call keeps the last block's output too
    expect(b.logits).toBe(T * V * 12 + T * (8 * h + 4) + 4 * h + 2 * h * T);
  });

  it('padding: flat buffers round up to a multiple of the world', () => {
    const cfg = makeConfig({
      model: { architecture: { ...TINY_ARCH, vocab: 261 } },
      cluster: { gpus_per_node: 8 },
    });
    const P1 = planContext(cfg).shape.params; // 121,728: not a multiple of 8... of 16 either
    const l = layout({ ulysses: 2, ring: 2, dp: 2, zero: 2 });
    const b = planLayout(cfg, l, undefined, opts).memory.breakdown;
    const padded = Math.ceil(P1 / 8) * 8;
    expect(b.weights).toBe(2 * padded);
    expect(b.grads).toBe(2 * P1 + (4 * padded) / 8); // bf16 .grad plus the ZeRO-2 fp32 shard accumulator
    expect(b.optimizer).toBe((12 * padded) / 8);
  });

  it('offload moves states to the host and counts host bytes per node', () => {
    const plan = planLayout(
      config,
      layout({ zero: 3, offload: { optimizer: true, params: true, activations: false } }),
      undefined,
      opts,
    );
    expect(plan.memory.breakdown.optimizer).toBe(0);
    expect(plan.memory.breakdown.weights).toBe(0);
    // per GPU: optimizer states + fp32 grad partition (16 B / 4) + bf16 params shard (2 B / 4); 4 GPUs on the node
    expect(plan.memory.host_bytes).toBe(4 * ((16 * P) / 4 + (2 * P) / 4));
  });

  it('activation offload keeps a two-layer window on the GPU', () => {
    const ctx = planContext(
      makeConfig({ model: { architecture: { ...makeConfig().model.architecture!, layers: 6 } } }),
      opts,
    );
    const on = memoryEstimate(
      ctx,
      layout({
        checkpointing: 'full',
        offload: { optimizer: false, params: false, activations: true },
      }),
      512,
    );
    const off = memoryEstimate(ctx, layout({ checkpointing: 'full' }), 512);
    expect(off.activations - on.activations).toBe(4 * 128 * T); // 6 layers -> 2 resident
    expect(on.activationOffloadBytes).toBe(4 * 128 * T);
    expect(on.hostBytesPerGpu).toBe(6 * 128 * T);
  });

  it('fp32 runs: 4 B weights and grads, m and v only (no master copy), no norm weight copies', () => {
    const plan = planLayout(
      makeConfig({ training: { precision: 'fp32' } }),
      layout({ zero: 0 }),
      undefined,
      opts,
    );
    expect(plan.memory.breakdown.weights).toBe(4 * P);
    expect(plan.memory.breakdown.grads).toBe(4 * P);
    expect(plan.memory.breakdown.optimizer).toBe(8 * P);
    const w = activationWidths(
      planContext(makeConfig({ training: { precision: 'fp32' } }), opts),
      2,
    );
    expect(plan.memory.saved.per_layer).toBe(w.none * T);
  });

  it('FPDT chunks divide the in-layer transients and SP buffers, not the saved activations', () => {
    const ctx = planContext(config, { ...opts, loss: 'chunked', lossChunkTokens: 1 });
    const one = memoryEstimate(ctx, layout({ chunks: 1 }), 512);
    const four = memoryEstimate(ctx, layout({ chunks: 4 }), 512);
    expect(four.phases.layer_backward.activations).toBe(one.phases.layer_backward.activations);
    const ws = (m: typeof one) => m.phases.layer_backward.workspace;
    expect(ws(one) - ws(four)).toBeCloseTo(((T * 1056 + 2 * T * 96 + 2 * 16 * T * 6) * 3) / 4, 6);
  });
});

describe('memory: properties', () => {
  const big = (u: number, r: number) =>
    makeConfig({
      model: { preset: 'llama-3-8b', architecture: undefined },
      training: { seq_len: 131072 },
      cluster: { nodes: 1, gpus_per_node: u * r },
    });

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
      const acts = shapes.map(
        ([u, r]) =>
          planLayout(big(u, r), layout({ ulysses: u, ring: r, checkpointing: ckpt })).memory
            .breakdown.activations,
      );
      for (let i = 1; i < acts.length; i++) {
        if (shapes[i][0] * shapes[i][1] > shapes[i - 1][0] * shapes[i - 1][1])
          expect(acts[i]).toBeLessThan(acts[i - 1]);
      }
    }
  });

  it('ZeRO-3 weights and optimizer states fall as 1/N', () => {
    const states = [1, 2, 4, 8, 16, 32].map((n) => {
      const b = planLayout(
        makeConfig({
          model: { preset: 'llama-3-8b', architecture: undefined },
          cluster: { nodes: 1, gpus_per_node: n },
        }),
        layout({ ulysses: 1, ring: 1, dp: n, zero: 3 }),
      ).memory.breakdown;
      return { n, bytes: b.weights + b.optimizer };
    });
    // 2 + 12 bytes per parameter, divided over the N ranks (every unit divides by 32, so exactly)
    for (const { n, bytes } of states) expect(bytes).toBe((14 * 8_030_261_248) / n);
  });

  it('peak memory is non-decreasing in seq_len', () => {
    const ctx = planContext(big(4, 2));
    let prev = 0;
    for (let s = 8 * 1024; s <= 2 ** 21; s *= 2) {
      const peak = memoryEstimate(
        ctx,
        layout({ ulysses: 4, ring: 2, zero: 3, checkpointing: 'full' }),
        s,
      ).peak;
      expect(peak).toBeGreaterThan(prev);
      prev = peak;
    }
  });
});
