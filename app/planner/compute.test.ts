import { describe, expect, it } from 'vitest';
import { calibrationEntries, calibrationFor, gpuCatalog, type Calibration } from './catalog';
import { cpuSlowdown } from './compute';
import { planContext } from './context';
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
    // Full checkpointing re-runs the blocks' forward: its FLOPs, and recompute_overhead_fraction
    // of the blocks' fixed cost (0 on GPUs until measured there).
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

describe('compute on CPU: the CPU work of each process, slowed by sharing the cores', () => {
  // The tiny example on "this computer": 4 processes (gpus_per_node) of u2 r2, fp32.
  const cpuConfig = (gpusPerNode = 4) =>
    makeConfig({
      training: { precision: 'fp32' },
      cluster: { gpu: 'cpu', nodes: 1, gpus_per_node: gpusPerNode },
    });
  const CPU_PEAK = 0.2e12; // resources/presets/gpus.json cpu fp32_tflops
  const CAL: Partial<Calibration> = {
    matmul_efficiency: 0.1,
    attention_efficiency: 0.01,
    layer_overhead_s: 0.004,
    ulysses_overhead_s: 0.003,
    ring_step_overhead_s: 0.002,
    micro_step_overhead_s: 0.005,
    recompute_overhead_fraction: 0.5,
    host_cores: 2,
    cpu_sync_efficiency: 0.8,
  };
  const opts = (over: Partial<Calibration> = {}) => ({ calibration: { ...CAL, ...over } });
  // One process's CPU seconds per micro-step, u2 r2, no checkpointing: FLOPs at the two rates,
  // plus per block the layer, Ulysses and (r - 1) ring-step costs, plus the micro-step's own.
  const cpuSeconds =
    (3 * MM_FWD) / (CPU_PEAK * 0.1) +
    (3.5 * ATTN_CAUSAL) / (CPU_PEAK * 0.01) +
    2 * (0.004 + 0.003 + 0.002) +
    0.005;

  it('the catalog marks the CPU entry, and only it, as kind cpu', () => {
    expect(gpuCatalog.cpu.kind).toBe('cpu');
    for (const [id, g] of Object.entries(gpuCatalog))
      if (id !== 'cpu') expect(g.kind).not.toBe('cpu');
  });

  it('4 processes on 2 cores: twice the CPU time, over the sync efficiency', () => {
    const t = planLayout(cpuConfig(), layout(), undefined, opts()).compute.time_s;
    expect(t).toBeCloseTo(((4 / 2) * cpuSeconds) / 0.8, 12);
  });

  it('full checkpointing adds the recomputed FLOPs and recompute_overhead_fraction of the block costs', () => {
    const none = planLayout(cpuConfig(), layout(), undefined, opts()).compute.time_s;
    const full = planLayout(cpuConfig(), layout({ checkpointing: 'full' }), undefined, opts())
      .compute.time_s;
    const extra =
      BLOCK_MM_FWD / (CPU_PEAK * 0.1) + ATTN_CAUSAL / (CPU_PEAK * 0.01) + 0.5 * 2 * 0.009;
    expect(full - none).toBeCloseTo(((4 / 2) * extra) / 0.8, 12);
  });

  it('SP costs follow the layout: Ulysses once per block when u > 1, ring per step after the first', () => {
    const base = { ...CAL, attention_efficiency: 1, matmul_efficiency: 1 };
    const time = (l: ReturnType<typeof layout>, over: Partial<Calibration> = {}) =>
      planLayout(cpuConfig(), l, undefined, { calibration: { ...base, ...over } }).compute.time_s;
    const u4 = layout({ ulysses: 4, ring: 1 });
    const r4 = layout({ ulysses: 1, ring: 4 });
    // Ulysses-only: no ring steps; 2 layers x ulysses_overhead_s, once however wide the group.
    expect(time(u4) - time(u4, { ulysses_overhead_s: 0 })).toBeCloseTo((2 * 0.003 * 2) / 0.8, 12);
    // Ring-only: 3 steps after the first in each of the 2 blocks, no Ulysses cost.
    expect(time(r4) - time(r4, { ring_step_overhead_s: 0 })).toBeCloseTo(
      (2 * 3 * 0.002 * 2) / 0.8,
      12,
    );
    expect(time(r4) - time(r4, { ulysses_overhead_s: 0 })).toBeCloseTo(0, 15);
  });

  it('no slowdown beyond the sync losses while every process has a core; none when cores are unknown', () => {
    const ctx = (gpn: number, over: Partial<Calibration> = {}) =>
      planContext(cpuConfig(gpn), { calibration: { ...CAL, ...over } });
    expect(cpuSlowdown(ctx(4))).toBeCloseTo(2 / 0.8, 15);
    expect(cpuSlowdown(ctx(4, { host_cores: 4 }))).toBeCloseTo(1 / 0.8, 15);
    expect(cpuSlowdown(ctx(4, { host_cores: 16 }))).toBeCloseTo(1 / 0.8, 15);
    expect(cpuSlowdown(ctx(4, { host_cores: 3 }))).toBeCloseTo(4 / 3 / 0.8, 15);
    expect(cpuSlowdown(ctx(1, { host_cores: 2, cpu_sync_efficiency: 1 }))).toBe(1);
    expect(cpuSlowdown(ctx(4, { host_cores: 0, cpu_sync_efficiency: 1 }))).toBe(1);
  });

  it('GPUs ignore the CPU sharing terms', () => {
    const gpu = makeConfig({});
    const plain = planLayout(gpu, layout()).compute.time_s;
    const shared = planLayout(gpu, layout(), undefined, {
      calibration: { host_cores: 1, cpu_sync_efficiency: 0.5 },
    }).compute.time_s;
    expect(shared).toBe(plain);
    expect(cpuSlowdown(planContext(gpu))).toBe(1);
  });

  it('the shipped CPU constants are measured figures, and the planner uses them for cpu', () => {
    const cal = calibrationFor('cpu');
    for (const k of [
      'matmul_efficiency',
      'attention_efficiency',
      'layer_overhead_s',
      'micro_step_overhead_s',
      'ulysses_overhead_s',
      'ring_step_overhead_s',
      'recompute_overhead_fraction',
      'cpu_sync_efficiency',
      'latency_intra_s',
      'host_cores',
    ] as const) {
      const m = calibrationEntries[k].measured?.cpu;
      expect(m, k).toBeDefined();
      expect(m!.command).toMatch(/spindle\.accounting\.calibrate_compute/);
      expect(cal[k]).toBe(m!.value);
    }
    const ctx = planContext(cpuConfig());
    expect(cpuSlowdown(ctx)).toBeCloseTo(
      Math.max(1, 4 / cal.host_cores) / cal.cpu_sync_efficiency,
      15,
    );
  });
});
