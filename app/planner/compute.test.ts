import { describe, expect, it } from 'vitest';
import { makeConfig, layout } from './fixtures.test-util';
import { planLayout } from './search';

const PEAK = 989.4e12; // H100 SXM dense bf16
const MM_EFF = 0.6;
const ATTN_EFF = 0.45;

// Tiny model on u2 r2, seq 512, one micro-step: T = 128 local tokens.
// Block matmul weights: q 64x64 + k,v 2 x 64x16 + o 64x64 + SwiGLU 3 x 64x176 = 44,032 (norms excluded).
const MM_FWD = 2 * 128 * (2 * 44_032 + 260 * 64); // 26,804,224: 2 FLOPs per weight per token, blocks + LM head
const BLOCK_MM_FWD = 2 * 128 * 2 * 44_032; // 22,544,384
const MLP_FWD = 2 * 128 * 2 * 3 * 64 * 176; // 17,301,504
// Attention: 2 matmuls x 2 FLOPs x qDim per (query, key) pair x layers, s(s+1)/2 causal pairs, over 4 GPUs.
const ATTN_CAUSAL = (4 * 64 * 2 * ((512 * 513) / 2)) / 4; // 16,809,984
const ATTN_FULL = (4 * 64 * 2 * 512 * 512) / 4; // 33,554,432

describe('compute: hand-derived FLOPs and time', () => {
  const config = makeConfig({});

  it('model FLOPs: 3x forward, causal-aware attention', () => {
    const plan = planLayout(config, layout());
    expect(plan.compute.flops_per_step).toBe(3 * (MM_FWD + ATTN_CAUSAL));
  });

  it('hardware FLOPs: flash backward recomputes scores (2.5x), full checkpointing re-runs the forward', () => {
    expect(planLayout(config, layout()).compute.hardware_flops_per_step).toBe(
      3 * MM_FWD + 3.5 * ATTN_CAUSAL,
    );
    expect(
      planLayout(config, layout({ checkpointing: 'full' })).compute.hardware_flops_per_step,
    ).toBe(3 * MM_FWD + BLOCK_MM_FWD + 4.5 * ATTN_CAUSAL);
    // selective re-runs the SwiGLU MLP's forward: 2 FLOPs x T x layers x 3 h ffn
    expect(
      planLayout(config, layout({ checkpointing: 'selective' })).compute.hardware_flops_per_step,
    ).toBe(3 * MM_FWD + 3.5 * ATTN_CAUSAL + MLP_FWD);
  });

  it('compute time: matmuls and attention at their own efficiencies, plus a fixed cost per block', () => {
    const t = planLayout(config, layout()).compute.time_s;
    const overhead = 2 * 0.0003; // 2 layers x layer_overhead_s
    expect(t).toBeCloseTo(
      (3 * MM_FWD) / (PEAK * MM_EFF) + (3.5 * ATTN_CAUSAL) / (PEAK * ATTN_EFF) + overhead,
      15,
    );
    const full = planLayout(config, layout({ checkpointing: 'full' })).compute.time_s;
    expect(full - t).toBeCloseTo(
      BLOCK_MM_FWD / (PEAK * MM_EFF) + ATTN_CAUSAL / (PEAK * ATTN_EFF),
      15,
    );
  });

  it('selective recompute costs the MLP forward at matmul efficiency', () => {
    const none = planLayout(config, layout()).compute.time_s;
    const sel = planLayout(config, layout({ checkpointing: 'selective' })).compute.time_s;
    expect(sel - none).toBeCloseTo(MLP_FWD / (PEAK * MM_EFF), 15);
  });

  it('a contiguous ring is paced by its most loaded rank: (2r-1)/r of the balanced attention time', () => {
    const zig = planLayout(config, layout()).compute.time_s;
    const contiguous = planLayout(
      makeConfig({ parallel: { ring_variant: 'contiguous' } }),
      layout(),
    ).compute.time_s;
    expect(contiguous - zig).toBeCloseTo(((3 / 2 - 1) * 3.5 * ATTN_CAUSAL) / (PEAK * ATTN_EFF), 15);
  });

  it('MFU: model FLOPs over peak x step time; legacy counts the full score matrix', () => {
    const plan = planLayout(config, layout());
    expect(plan.mfu).toBeCloseTo((3 * (MM_FWD + ATTN_CAUSAL)) / (PEAK * plan.step_time_s), 12);
    expect(plan.mfu_legacy / plan.mfu).toBeCloseTo(
      (MM_FWD + ATTN_FULL) / (MM_FWD + ATTN_CAUSAL),
      12,
    );
  });

  it('fp32 runs use the fp32 peak', () => {
    const noOverhead = { calibration: { layer_overhead_s: 0 } };
    const bf16 = planLayout(config, layout(), undefined, noOverhead).compute.time_s;
    const fp32 = planLayout(
      makeConfig({ training: { precision: 'fp32' } }),
      layout(),
      undefined,
      noOverhead,
    ).compute.time_s;
    expect(fp32 / bf16).toBeCloseTo(989.4 / 66.9, 9);
  });
});

describe('step time and throughput', () => {
  it('step time is the sum of compute, exposed comm, exposed host copies and the optimizer update', () => {
    for (const l of [
      layout(),
      layout({ zero: 3, offload: { optimizer: true, params: true, activations: false } }),
    ]) {
      const plan = planLayout(makeConfig({ training: { grad_accum: 4 } }), l);
      const t = plan.time;
      expect(plan.step_time_s).toBeCloseTo(
        t.compute_s + t.comm_exposed_s + t.host_exposed_s + t.optimizer_s,
        15,
      );
      expect(plan.comm.time_s).toBeCloseTo(
        Object.values(plan.comm.by_kind).reduce((s, k) => s + k.time_s, 0),
        15,
      );
    }
  });

  it('tokens per step count every data-parallel replica and micro-step', () => {
    const cfg = makeConfig({
      training: { grad_accum: 4, micro_batch: 2 },
      cluster: { nodes: 2, gpus_per_node: 4 },
    });
    const plan = planLayout(cfg, layout({ dp: 2 }));
    expect(plan.tokens_per_step).toBe(512 * 2 * 4 * 2);
    expect(plan.tokens_per_s).toBeCloseTo(plan.tokens_per_step / plan.step_time_s, 9);
  });

  it('grad accumulation repeats micro-steps; once-per-step costs are paid once', () => {
    const one = planLayout(makeConfig({ training: { grad_accum: 1 } }), layout({ zero: 1 }));
    const eight = planLayout(makeConfig({ training: { grad_accum: 8 } }), layout({ zero: 1 }));
    expect(eight.compute.time_s).toBeCloseTo(8 * one.compute.time_s, 15);
    expect(eight.time.optimizer_s).toBe(one.time.optimizer_s);
    expect(eight.comm.by_kind.zero_allgather.bytes).toBe(one.comm.by_kind.zero_allgather.bytes);
    expect(eight.step_time_s).toBeLessThan(8 * one.step_time_s);
  });

  it('optimizer offload trades GPU memory for host time', () => {
    const cfg = makeConfig({
      model: { preset: 'llama-3-8b', architecture: undefined },
      training: { seq_len: 8192 },
      cluster: { nodes: 1, gpus_per_node: 8 },
    });
    const gpu = planLayout(cfg, layout({ ulysses: 8, ring: 1, zero: 2 }));
    const host = planLayout(
      cfg,
      layout({
        ulysses: 8,
        ring: 1,
        zero: 2,
        offload: { optimizer: true, params: false, activations: false },
      }),
    );
    expect(host.memory.peak_bytes).toBeLessThan(gpu.memory.peak_bytes);
    expect(host.time.host_exposed_s).toBeGreaterThan(0);
    expect(host.time.optimizer_s).toBe(0);
    // the node's CPUs update 8 partitions of P/8 parameters at 2e9 parameters/s
    expect(host.time.host_exposed_s).toBeGreaterThan(8_030_261_248 / 2e9);
  });
});
