import { describe, expect, it } from 'vitest';
import { makeConfig, layout, ROUND_CAL, TINY_ARCH } from './fixtures.test-util';
import { planContext } from './context';
import { allocatedAtPeak } from './compare';
import {
  activationWidths,
  blockDims,
  chunkPairs,
  distinctRingRanks,
  lastBlockBackward,
  memoryEstimate,
  optimizerTransient,
  ringBlocks,
} from './memory';
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

  it('the last block backward on a GPU: flash-attn copies and its fp32 dq accumulator, no CPU tiles', () => {
    const ctx = planContext(config, { ...opts, loss: 'chunked', lossChunkTokens: 1 });
    const l = layout({ zero: 1 });
    const t = lastBlockBackward(blockDims(ctx, l, 512), 'none', false, 0, true);
    const what = new Set(t.log!.map((e) => e.what));
    expect(what.has('kernel: per-thread scratch')).toBe(false);
    expect(what.has('kernel: fp32 dq accumulator, row sums')).toBe(true);
    // NCCL moves bf16 as bf16: no fp32 all-to-all copies
    expect(what.has('all-to-all send (fp32)')).toBe(false);
    const b = memoryEstimate(ctx, l, 512).phases.layer_backward;
    expect(b.logits).toBe(0);
    // the window's peak above its start, less the block's .grad tensors, plus the RoPE tables
    expect(b.workspace).toBe(t.peak - 2 * 44_160 + 8192);
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

  it('FPDT chunks leave the saved activations alone', () => {
    const ctx = planContext(config, { ...opts, loss: 'chunked', lossChunkTokens: 1 });
    const one = memoryEstimate(ctx, layout({ chunks: 1 }), 512);
    const four = memoryEstimate(ctx, layout({ chunks: 4 }), 512);
    expect(four.phases.layer_backward.activations).toBe(one.phases.layer_backward.activations);
    expect(four.phases.layer_backward.workspace).toBeLessThanOrEqual(
      one.phases.layer_backward.workspace,
    );
  });
});

// The CPU runtime as the validation grid runs it (native/tests/grid_util.py: torch 2.x, the flash
// kernel for CPU with one thread, gloo), where every number below was measured exactly.
describe('memory: the last block backward and the step, replayed (tiny model on CPU, seq 256)', () => {
  const cpu = (over: Record<string, unknown> = {}, parallel: Record<string, unknown> = {}) =>
    makeConfig({
      training: { seq_len: 256, loss: 'chunked', loss_chunk_tokens: 4096, ...over },
      parallel,
      cluster: { gpu: 'cpu', nodes: 1, gpus_per_node: 1 },
    });
  const one = { ulysses: 1, ring: 1, dp: 1 };
  const est = (c: ReturnType<typeof cpu>, l: Parameters<typeof layout>[0]) =>
    memoryEstimate(planContext(c, { torch: '2.11.0' }), layout({ ...one, ...l }), 256);

  it('one process, bf16, no checkpointing: the peak is the attention kernel', () => {
    const c = cpu();
    const ctx = planContext(c, { torch: '2.11.0' });
    const l = layout({ ...one, zero: 0 });
    const t = lastBlockBackward(blockDims(ctx, l, 256), 'none', false, 0, true);
    // T = 256 tokens; before the attention the MLP, norm 2 and o projection have left their .grad
    // tensors (3 x 22,528 + 128 + 8,192) and released what they saved (4 x 90,112, norm 2's
    // 132,352 and output 32,768, the o input 32,768), with dO (32,768) alive: -449,664
    const start = t.log!.findIndex((e) => e.what === 'dq accumulator');
    expect(t.log![start - 1].live).toBe(
      3 * 22_528 + 128 + 8192 - 4 * 90_112 - 132_352 - 2 * 32_768 + 32_768,
    );
    // then the fp32 dq and dK/dV accumulators, K,V stacked, lse, dout contiguous, q in fp32, K and V
    // repeated to the 8 query heads, the kernel's dq, dk, dv and query-sized buffer (each 65,536
    // or the K,V sizes) and its tiles, 2 x 64 x 256 fp32 for one thread, and 64 row sums
    const attention =
      65_536 + 32_768 + 16_384 + 8192 + 65_536 * 4 + 65_536 * 4 + 2 * 64 * 256 * 4 + 4 * 64;
    expect(t.peak).toBe(t.log![start - 1].live + attention); // 328,832
    expect(t.peak).toBe(328_832);
    const m = est(c, { zero: 0 });
    // measured: less the block's .grad tensors (88,320), plus the RoPE tables (16,384)
    expect(m.phases.layer_backward.workspace).toBe(256_896);
    // the step's peak is the loss moment: weights + optimizer, every saved tensor, the RoPE tables,
    // the last block's output and (held by the accounting) its input, the loop's small tensors, the loss
    expect(m.stepMoment).toBe('loss');
    expect(m.stepAllocated).toBe(
      243_328 + 1_459_968 + 1_694_720 + 16_384 + 2 * 32_768 + 18_448 + 798_976,
    ); // measured 4,297,364
  });

  it('the CPU kernel tiles queries by 32, 64 or 256 rows and keys by 512, per thread', () => {
    const scratch = (seq: number) => {
      const ctx = planContext(cpu({ seq_len: seq }), { torch: '2.11.0' });
      const t = lastBlockBackward(blockDims(ctx, layout({ ...one }), seq), 'none', false, 0, true);
      return t.log!.find((e) => e.what === 'kernel: per-thread scratch')!.bytes;
    };
    expect(scratch(128)).toBe(2 * 32 * 128 * 4);
    expect(scratch(256)).toBe(2 * 64 * 256 * 4);
    expect(scratch(1024)).toBe(2 * 256 * 512 * 4);
  });

  it('FPDT chunks shrink the attention transients (measured: 256,896 -> 130,816)', () => {
    expect(est(cpu(), { zero: 1, chunks: 2 }).phases.layer_backward.workspace).toBe(130_816);
    const s = blockDims(
      planContext(cpu(), { torch: '2.11.0' }),
      layout({ ...one, chunks: 2 }),
      256,
    );
    // query chunk x key chunk pairs that see anything: (0,0) causal, (1,0) full; (1,1) causal
    expect(chunkPairs(s, 0, 0).map((p) => p.map((b) => [b.q0, b.k0, b.kind]))).toEqual([
      [
        [0, 0, 'causal'],
        [128, 0, 'full'],
      ],
      [[128, 128, 'causal']],
    ]);
  });

  it('ring ranks see different blocks: zigzag halves, contiguous prefixes', () => {
    const dims = (variant: 'zigzag' | 'contiguous') =>
      blockDims(
        planContext(cpu({}, { ring_variant: variant }), { torch: '2.11.0' }),
        layout({ ulysses: 1, ring: 2, dp: 1 }),
        256,
      );
    const z = dims('zigzag');
    const shape = (b: ReturnType<typeof ringBlocks>[number]) =>
      b && [b.q1 - b.q0, b.k1 - b.k0, b.kind];
    // rank 0 holds chunks 0 and 3 of 4 (64 tokens each), rank 1 chunks 1 and 2
    expect(ringBlocks(z, 0).map(shape)).toEqual([
      [128, 128, 'causal'],
      [64, 128, 'full'], // only chunk 3 sees rank 1's keys
    ]);
    expect(ringBlocks(z, 1).map(shape)).toEqual([
      [128, 128, 'causal'],
      [128, 64, 'full'], // both see chunk 0 only
    ]);
    const c = dims('contiguous');
    expect(ringBlocks(c, 0).map(shape)).toEqual([[128, 128, 'causal'], null]);
    expect(ringBlocks(c, 1).map(shape)).toEqual([
      [128, 128, 'causal'],
      [128, 128, 'full'],
    ]);
    expect(distinctRingRanks(8)).toEqual([0, 1, 6, 7]);
  });

  it('the optimizer step: the fp32 flat gradient, its fp64 copy and square', () => {
    const c = cpu({}, {});
    const m = est(c, { zero: 1, checkpointing: 'selective' });
    expect(m.stepMoment).toBe('optimizer');
    // ZeRO-1 on one rank: flat 4P, the fp64 norm's copy and square 16P, less the .grads (2P)
    const ctx = planContext(c, { torch: '2.11.0' });
    expect(optimizerTransient(ctx, layout({ ...one, zero: 1 }))).toBe(18 * P);
    expect(m.stepAllocated).toBe(4_206_224); // measured 4,206,228
  });

  it('a later micro-step holds every ZeRO-0/1 .grad (measured 7,041,948)', () => {
    const c = cpu({ precision: 'fp32', micro_batch: 2, grad_accum: 2, loss_chunk_tokens: 64 });
    const m = est(c, { zero: 1, checkpointing: 'selective' });
    expect(m.stepMoment).toBe('layer_backward'); // the second micro-step's
    expect(Math.abs(m.stepAllocated - 7_041_948)).toBeLessThan(0.001 * 7_041_948);
    // small loss chunks: the final norm's backward is the loss moment's peak (measured 722,188)
    expect(m.phases.loss.logits).toBe(722_176);
  });

  it('packed documents that cut a block add its mask (measured with masks: 519,296)', () => {
    const c = cpu({}, {});
    const ctx = planContext(c, { torch: '2.11.0' });
    const l = layout({ ...one, zero: 0, checkpointing: 'full' });
    expect(memoryEstimate(ctx, l, 256).phases.layer_backward.workspace).toBe(256_896);
    expect(
      memoryEstimate(ctx, l, 256, { maskedBlocks: true }).phases.layer_backward.workspace,
    ).toBe(519_296);
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
