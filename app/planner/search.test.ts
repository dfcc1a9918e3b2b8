import { describe, expect, it } from 'vitest';
import { validateConfigObject } from '../config';
import {
  applyLayout,
  calibrationEntries,
  calibrationFor,
  CALIBRATION_KEYS,
  formatPlanTable,
  gpuCatalog,
  planConfig,
  planLayout,
  sweepSeqLen,
} from './index';
import { makeConfig, layout } from './fixtures.test-util';
import { seqGranularity } from './rules';
import type { LayoutPlan } from './types';

/**
 * Materialized loss of the example at dp 16 (docs/planner.md §3.6): 12 B per logit, the final norm's
 * working set (8h + 4 per token on torch 2, plus its fp32 weight copy), and the last block's output
 * that ZeRO-3's gathered head call keeps (bf16).
 */
const MATERIALIZED_LOGITS =
  131072 * 128256 * 12 + 131072 * (8 * 4096 + 4) + 4 * 4096 + 2 * 4096 * 131072;

/** The shared example: Llama-3-8B at 128k on 2 x 8 H100, ZeRO-3 and full checkpointing fixed. */
const example = (training: Record<string, unknown> = {}) =>
  makeConfig({
    model: { preset: 'llama-3-8b', architecture: undefined },
    training: { task: 'sft', seq_len: 131072, micro_batch: 1, grad_accum: 8, ...training },
    parallel: {
      ulysses: 'auto',
      ring: 'auto',
      zero: 3,
      checkpointing: 'full',
      offload: { optimizer: false, params: false },
    },
    cluster: { gpu: 'h100-80g', nodes: 2, gpus_per_node: 8 },
  });

const secondsPerToken = (l: LayoutPlan) => l.step_time_s / l.tokens_per_step;

describe('planConfig: search and ranking', () => {
  it('enumerates every ulysses x ring x dp of the cluster and keeps fixed fields fixed', () => {
    const plan = planConfig(example());
    // ordered factorisations of 16 = 2^4 into three factors: C(6, 2) = 15
    expect(plan.candidates).toBe(15);
    expect(plan.layouts).toHaveLength(15);
    const shapes = new Set(plan.layouts.map((l) => `${l.ulysses}x${l.ring}x${l.dp}`));
    expect(shapes.size).toBe(15);
    for (const l of plan.layouts) {
      expect(l.ulysses * l.ring * l.dp).toBe(16);
      expect(l).toMatchObject({
        zero: 3,
        checkpointing: 'full',
        chunks: 1,
        offload: { optimizer: false, params: false, activations: false },
      });
    }
  });

  it('ranks feasible layouts by time per token, then infeasible ones with reasons', () => {
    const plan = planConfig(example());
    expect(plan.best).toBe(0);
    const feasible = plan.layouts.filter((l) => l.feasible);
    expect(feasible.length).toBeGreaterThan(0);
    expect(plan.layouts.slice(0, feasible.length).every((l) => l.feasible)).toBe(true);
    // 1% bands of time per token above the fastest; within a band, less memory first
    const fastest = Math.min(...feasible.map(secondsPerToken));
    const band = (l: LayoutPlan) => Math.floor((secondsPerToken(l) / fastest - 1) / 0.01 + 1e-9);
    for (let i = 1; i < feasible.length; i++) {
      expect(band(feasible[i])).toBeGreaterThanOrEqual(band(feasible[i - 1]));
      if (band(feasible[i]) === band(feasible[i - 1]))
        expect(feasible[i].memory.peak_bytes).toBeGreaterThanOrEqual(
          feasible[i - 1].memory.peak_bytes,
        );
    }
    expect(band(feasible[0])).toBe(0);
    // with no tolerance the order is time per token alone
    const strict = planConfig(example(), { rankTolerance: 0 }).layouts.filter((l) => l.feasible);
    for (let i = 1; i < strict.length; i++)
      expect(secondsPerToken(strict[i])).toBeGreaterThanOrEqual(secondsPerToken(strict[i - 1]));
    for (const l of plan.layouts.filter((x) => !x.feasible))
      expect(l.reasons.length).toBeGreaterThan(0);
    // pure data parallelism can't hold 128k tokens on one H100 with a materialized loss: the fp32
    // logits alone are 131072 x 128256 x 12 B
    const dp16 = planConfig(example(), { loss: 'materialized' }).layouts.find((l) => l.dp === 16)!;
    expect(dp16.feasible).toBe(false);
    expect(dp16.reasons[0]).toMatch(/largest term: logits 193 GiB/);
    expect(dp16.memory.breakdown.logits).toBe(MATERIALIZED_LOGITS);
  });

  it("takes the loss mode from the config's training.loss unless the options override it", () => {
    const chunked = example(); // training.loss defaults to chunked (4096 tokens)
    const materialized = example({ loss: 'materialized' });
    const mem = (c: typeof chunked, opts = {}) =>
      planConfig(c, opts).layouts.find((l) => l.dp === 16)!.memory;
    expect(chunked.training.loss).toBe('chunked');
    expect(mem(materialized).breakdown.logits).toBe(MATERIALIZED_LOGITS);
    expect(mem(chunked).peak_bytes).toBeLessThan(mem(materialized).peak_bytes - 100 * 2 ** 30);
    expect(mem(materialized, { loss: 'chunked' })).toEqual(mem(chunked));
    expect(mem(chunked, { loss: 'materialized' })).toEqual(mem(materialized));
    expect(mem(example({ loss_chunk_tokens: 1024 }))).toEqual(
      mem(chunked, { lossChunkTokens: 1024 }),
    );
  });

  it('searches every open field and keeps the best per factorisation', () => {
    const cfg = makeConfig({
      parallel: { offload: { optimizer: 'auto', params: 'auto', activations: 'auto' } },
    });
    const plan = planConfig(cfg);
    // 6 (ulysses, ring) pairs on 4 GPUs; per pair: checkpointing x activation offload (none: off; selective,
    // full: off/on) = 5, times ZeRO with its offloads (0: none; 1, 2: optimizer off/on; 3: optimizer x params) = 9
    expect(plan.candidates).toBe(6 * 5 * 9);
    expect(plan.layouts).toHaveLength(6);
    const all = planConfig(cfg, { all: true });
    expect(all.layouts).toHaveLength(270);
    // the best of everything is the best of the per-factorisation view
    expect(all.layouts[0]).toEqual(plan.layouts[0]);
    // no candidate breaks an offload rule while the fields that caused it were open
    for (const l of all.layouts) {
      expect(l.offload.params && l.zero !== 3).toBe(false);
      expect(l.offload.activations && l.checkpointing === 'none').toBe(false);
    }
  });

  it('the streaming best-of-a-shape pick agrees with ranking every candidate', () => {
    for (const [u, r] of [
      [8, 1],
      [2, 4],
      [1, 8],
    ]) {
      const cfg = makeConfig({
        model: { preset: 'llama-3-8b', architecture: undefined },
        training: { seq_len: 131072 },
        parallel: {
          ulysses: u,
          ring: r,
          chunks: 'auto',
          offload: { optimizer: 'auto', params: 'auto', activations: 'auto' },
        },
        cluster: { nodes: 1, gpus_per_node: 8 },
      });
      const one = planConfig(cfg);
      const all = planConfig(cfg, { all: true });
      expect(one.layouts).toHaveLength(1);
      expect(all.layouts.length).toBe(all.candidates);
      expect(one.layouts[0]).toEqual(all.layouts[0]);
    }
  });

  it('tries FPDT chunk counts that split the local sequence into long-enough chunks', () => {
    const cfg = makeConfig({
      training: { seq_len: 16384 },
      parallel: { ulysses: 2, ring: 2, chunks: 'auto', zero: 1, checkpointing: 'full' },
    });
    const plan = planConfig(cfg, { all: true, minChunkTokens: 1024 });
    // 4096 local tokens: 1, 2, 4 chunks (1024 tokens each at most)
    expect(plan.layouts.map((l) => l.chunks).sort()).toEqual([1, 2, 4]);
  });

  it('a fixed shape that does not fit the cluster gets a row that says so', () => {
    const plan = planConfig(
      makeConfig({ parallel: { ulysses: 3, ring: 1, zero: 1, checkpointing: 'full' } }),
    );
    expect(plan.layouts).toHaveLength(1);
    expect(plan.best).toBeNull();
    expect(plan.layouts[0].reasons.join('\n')).toMatch(
      /ulysses 3 × ring 1 × dp 1 = 3 GPUs, but the cluster has 4/,
    );
  });

  it('when nothing fits, best is null and the closest layout comes first', () => {
    const cfg = makeConfig({
      model: { preset: 'llama-3-70b', architecture: undefined },
      training: { seq_len: 1 << 20 },
      cluster: { nodes: 1, gpus_per_node: 8 },
    });
    const plan = planConfig(cfg);
    expect(plan.best).toBeNull();
    const over = plan.layouts
      .filter((l) => !l.reasons.some((r) => /heads/.test(r)))
      .map((l) => l.memory.peak_bytes);
    expect(over).toEqual([...over].sort((a, b) => a - b));
    expect(plan.layouts[0].reasons[0]).toMatch(/^needs .* GiB per GPU/);
  });

  it('reports model and cluster', () => {
    const plan = planConfig(example());
    expect(plan.model).toMatchObject({
      name: 'Llama 3 8B',
      params: 8_030_261_248,
      params_embedding: 2 * 128256 * 4096,
      layers: 32,
    });
    expect(plan.cluster).toMatchObject({
      gpu: 'h100-80g',
      world: 16,
      capacity_bytes: 81559 * 2 ** 20,
    });
    expect(plan.seq_len).toBe(131072);
  });

  it('rejects an unknown GPU with the known list', () => {
    expect(() => planConfig(makeConfig({ cluster: { gpu: 'tpu-v5' } }))).toThrow(
      /unknown GPU type "tpu-v5" \(known: .*h100-80g/,
    );
  });
});

describe('max sequence length', () => {
  it('is the last multiple of the layout granularity that fits', () => {
    const cfg = example();
    const plan = planConfig(cfg, { maxSeq: true });
    for (const l of plan.layouts.slice(0, 4)) {
      const max = l.max_seq_len!;
      const g = seqGranularity({ ringVariant: 'zigzag' }, l);
      expect(max % g).toBe(0);
      expect(planLayout(cfg, l, max).memory.peak_bytes).toBeLessThanOrEqual(
        l.memory.capacity_bytes,
      );
      expect(planLayout(cfg, l, max + g).memory.peak_bytes).toBeGreaterThan(
        l.memory.capacity_bytes,
      );
    }
    // a feasible layout fits at least the planned length; the infeasible dp=16 one fits less
    expect(plan.layouts[0].max_seq_len!).toBeGreaterThanOrEqual(131072);
    expect(plan.layouts.find((l) => l.dp === 16)!.max_seq_len!).toBeLessThan(131072);
  });

  it('grows with the sequence-parallel degree and is null for impossible shapes', () => {
    const cfg = makeConfig({
      model: { preset: 'llama-3-8b', architecture: undefined },
      parallel: { zero: 3, checkpointing: 'full' },
      cluster: { nodes: 1, gpus_per_node: 8 },
    });
    const plan = planConfig(cfg, { maxSeq: true });
    const byShape = (u: number, r: number) =>
      plan.layouts.find((l) => l.ulysses === u && l.ring === r)!.max_seq_len!;
    expect(byShape(1, 2)).toBeGreaterThan(byShape(1, 1));
    expect(byShape(2, 2)).toBeGreaterThan(byShape(2, 1));
    expect(byShape(8, 1)).toBeGreaterThan(byShape(4, 1));
    const tiny = planConfig(
      makeConfig({
        model: {
          architecture: {
            family: 'llama',
            layers: 2,
            hidden: 48,
            heads: 6,
            kv_heads: 6,
            ffn: 64,
            vocab: 100,
          },
        },
        parallel: { ulysses: 4, ring: 1, zero: 1, checkpointing: 'full' },
      }),
      { maxSeq: true },
    );
    expect(tiny.layouts[0].max_seq_len).toBeNull();
  });

  it('is 0 when not even the smallest sequence fits', () => {
    const cfg = makeConfig({
      model: { preset: 'llama-3-70b', architecture: undefined },
      cluster: { gpu: 'rtx4090-24g', nodes: 1, gpus_per_node: 1 },
    });
    expect(
      planLayout(cfg, layout({ ulysses: 1, ring: 1, zero: 0 }), undefined, { maxSeq: true })
        .max_seq_len,
    ).toBe(0);
  });
});

describe('sweepSeqLen', () => {
  it('gives memory and throughput per sequence length, matching planLayout', () => {
    const cfg = example();
    const l = planConfig(cfg).layouts[0];
    const seqs = [32768, 65536, 131072, 262144, 524288, 1048576];
    const points = sweepSeqLen(cfg, l, seqs);
    expect(points.map((p) => p.seq_len)).toEqual(seqs);
    for (let i = 1; i < points.length; i++)
      expect(points[i].peak_bytes).toBeGreaterThan(points[i - 1].peak_bytes);
    const at128k = points[2];
    expect(at128k.peak_bytes).toBe(l.memory.peak_bytes);
    expect(at128k.tokens_per_s).toBeCloseTo(l.tokens_per_s, 6);
    // longer sequences: more attention per token, fewer tokens per second
    expect(points[5].tokens_per_s).toBeLessThan(points[0].tokens_per_s);
    expect(() => sweepSeqLen(cfg, l, [0])).toThrow(/positive integers/);
  });
});

describe('applyLayout', () => {
  it('writes the layout into the config, which then plans to the same numbers', () => {
    const cfg = example();
    const best = planConfig(cfg).layouts[0];
    const applied = applyLayout(cfg, best);
    expect(applied.parallel).toMatchObject({
      ulysses: best.ulysses,
      ring: best.ring,
      zero: best.zero,
      checkpointing: best.checkpointing,
      chunks: best.chunks,
    });
    expect(validateConfigObject(JSON.parse(JSON.stringify(applied))).ok).toBe(true);
    expect(cfg.parallel.ulysses).toBe('auto'); // the input is not modified
    const again = planConfig(applied);
    expect(again.candidates).toBe(1);
    expect(again.layouts[0].step_time_s).toBeCloseTo(best.step_time_s, 12);
  });

  it('refuses a layout for another cluster size', () => {
    expect(() => applyLayout(example(), layout({ ulysses: 2, ring: 2, dp: 1 }))).toThrow(
      /does not match the cluster's 16/,
    );
  });
});

describe('catalogs and table', () => {
  it('has the GPUs the examples and docs name', () => {
    for (const id of [
      'a100-40g',
      'a100-80g',
      'a800-80g',
      'h100-80g',
      'h200-141g',
      'h800-80g',
      'l40s-48g',
      'rtx4090-24g',
      'cpu',
    ])
      expect(gpuCatalog[id]).toBeDefined();
    expect(gpuCatalog['h100-80g'].bf16_tflops).toBeGreaterThan(gpuCatalog['a100-80g'].bf16_tflops);
  });

  it('every calibration constant is documented with a source and can be overridden per GPU and per call', () => {
    for (const k of CALIBRATION_KEYS) {
      const e = calibrationEntries[k];
      // No GPU has been calibrated yet; figures that were measured (CPU) carry how, where and when.
      expect(e.source).toMatch(/default awaiting measurement/);
      expect(e.description.length).toBeGreaterThan(10);
      for (const [gpu, m] of Object.entries(e.measured ?? {})) {
        expect(e.by_gpu![gpu]).toBe(m.value);
        expect(m.command).toMatch(/spindle\.accounting\.calibrate/);
        expect(m.machine.length).toBeGreaterThan(5);
      }
    }
    expect(Object.keys(calibrationEntries.framework_bytes.measured ?? {})).toEqual(['cpu']);
    expect(calibrationFor('cpu').framework_bytes).toBe(
      calibrationEntries.framework_bytes.by_gpu!.cpu,
    );
    expect(calibrationFor('h100-80g').framework_bytes).toBe(
      calibrationEntries.framework_bytes.value,
    );
    expect(calibrationFor('h100-80g', { framework_bytes: 7 }).framework_bytes).toBe(7);
  });

  it('prints a ranked table with human units and the reasons for what cannot run', () => {
    const text = formatPlanTable(planConfig(example(), { maxSeq: true }));
    expect(text).toMatch(/^Llama 3 8B \(8\.03B params\), seq_len 128k/);
    expect(text).toMatch(/#\s+ulysses\s+ring\s+dp\s+zero\s+ckpt/);
    expect(text).toMatch(/^1\*/m);
    expect(text).toMatch(/GiB/);
    expect(text).toMatch(/Cannot run \(\d+\):/);
    expect(text).toMatch(/- needs .* GiB per GPU/);
  });

  it('says so when nothing fits, and lists the closest layouts with their reasons', () => {
    const cfg = makeConfig({
      model: { preset: 'llama-3-70b', architecture: undefined },
      training: { seq_len: 1 << 20 },
      cluster: { nodes: 1, gpus_per_node: 8 },
    });
    const text = formatPlanTable(planConfig(cfg));
    expect(text).toMatch(/No layout fits\. Closest first:/);
    expect(text).not.toMatch(/\* best:/);
    expect(text).toMatch(/- needs .* GiB per GPU/);
  });
});
