import { describe, expect, it } from 'vitest';
import { makeConfig, layout } from './fixtures.test-util';
import { planLayout } from './search';
import { seqGranularity } from './rules';

const arch = (heads: number, kv: number) => ({
  family: 'llama',
  layers: 2,
  hidden: heads * 8,
  heads,
  kv_heads: kv,
  ffn: 64,
  vocab: 100,
});

describe('feasibility reasons', () => {
  it('heads not divisible by ulysses', () => {
    const plan = planLayout(
      makeConfig({
        model: { architecture: arch(12, 12) },
        training: { seq_len: 480 },
        cluster: { gpus_per_node: 8 },
      }),
      layout({ ulysses: 8, ring: 1 }),
    );
    expect(plan.feasible).toBe(false);
    // Both the query and the KV heads fail to split; every problem is listed, not just the first.
    expect(plan.reasons).toEqual([
      "12 attention heads can't be split evenly over ulysses 8: the Ulysses degree must divide the head count",
      "12 KV heads can't be shared out over ulysses 8: it needs ulysses to divide 12, or to be a multiple of it so each KV head can be replicated",
    ]);
  });

  it('KV heads neither a divisor nor a multiple of ulysses', () => {
    const plan = planLayout(
      makeConfig({
        model: { architecture: arch(12, 4) },
        training: { seq_len: 600 },
        cluster: { gpus_per_node: 6 },
      }),
      layout({ ulysses: 6, ring: 1 }),
    );
    expect(plan.reasons.join('\n')).toMatch(
      /4 KV heads can't be shared out over ulysses 6: it needs ulysses to divide 4, or to be a multiple of it/,
    );
  });

  it('ulysses a multiple of KV heads runs, with a note on replication', () => {
    const plan = planLayout(
      makeConfig({ model: { architecture: arch(16, 4) }, cluster: { gpus_per_node: 8 } }),
      layout({ ulysses: 8, ring: 1 }),
    );
    expect(plan.feasible).toBe(true);
    expect(plan.notes.join('\n')).toMatch(/each of the 4 KV heads is replicated 2×/);
  });

  it('seq_len not divisible by 2 x ring for zigzag', () => {
    const cfg = makeConfig({ training: { seq_len: 4 * 3 }, cluster: { gpus_per_node: 4 } });
    const plan = planLayout(cfg, layout({ ulysses: 1, ring: 4 }));
    expect(plan.reasons).toEqual([
      "zigzag ring attention cuts the sequence into 2 × ring = 8 pieces: seq_len 12 isn't divisible by 8",
    ]);
    // a contiguous ring only needs ring | seq_len
    const contiguous = makeConfig({
      training: { seq_len: 12 },
      parallel: { ring_variant: 'contiguous' },
      cluster: { gpus_per_node: 4 },
    });
    expect(planLayout(contiguous, layout({ ulysses: 1, ring: 4 })).reasons).toEqual([]);
  });

  it('seq_len not divisible by the SP degree, and chunks that do not divide the local sequence', () => {
    expect(planLayout(makeConfig({ training: { seq_len: 510 } }), layout()).reasons[0]).toMatch(
      /seq_len 510 isn't divisible by ulysses × ring = 4/,
    );
    expect(planLayout(makeConfig({}), layout({ chunks: 3 })).reasons[0]).toMatch(
      /local sequence of 128 tokens can't be cut into 3 equal chunks/,
    );
  });

  it('ulysses x ring x dp must use every GPU', () => {
    const plan = planLayout(
      makeConfig({ cluster: { nodes: 2, gpus_per_node: 8 } }),
      layout({ dp: 2 }),
    );
    expect(plan.reasons[0]).toBe(
      'ulysses 2 × ring 2 × dp 2 = 8 GPUs, but the cluster has 16 (2 nodes × 8)',
    );
  });

  it('offload options need the right ZeRO stage and checkpointing', () => {
    const cfg = makeConfig({});
    expect(
      planLayout(
        cfg,
        layout({ zero: 2, offload: { optimizer: false, params: true, activations: false } }),
      ).reasons,
    ).toEqual(['parameter offload needs ZeRO-3 (this layout has zero 2)']);
    expect(
      planLayout(
        cfg,
        layout({ zero: 0, offload: { optimizer: true, params: false, activations: false } }),
      ).reasons[0],
    ).toMatch(/optimizer offload needs ZeRO 1 or higher/);
    expect(
      planLayout(
        cfg,
        layout({
          checkpointing: 'none',
          offload: { optimizer: false, params: false, activations: true },
        }),
      ).reasons[0],
    ).toMatch(/activation offload .* use checkpointing full or selective/);
  });

  it('memory over capacity: by how much and which term dominates', () => {
    const cfg = makeConfig({
      model: { preset: 'llama-3-8b', architecture: undefined },
      training: { seq_len: 131072 },
      cluster: { gpus_per_node: 2 },
    });
    const plan = planLayout(cfg, layout({ ulysses: 2, ring: 1, zero: 3, checkpointing: 'none' }));
    expect(plan.feasible).toBe(false);
    const over = plan.memory.peak_bytes - plan.memory.capacity_bytes;
    expect(over).toBeGreaterThan(0);
    expect(plan.reasons).toHaveLength(1);
    const gib = (b: number) => (b / 2 ** 30).toFixed(b >= 100 * 2 ** 30 ? 0 : 1);
    expect(plan.reasons[0]).toBe(
      `needs ${gib(plan.memory.peak_bytes)} GiB per GPU, ${gib(over)} GiB more than the 79.6 GiB of a NVIDIA H100 SXM5 80GB; largest term: activations ${gib(plan.memory.breakdown.activations)} GiB`,
    );
  });

  it('granularity: zigzag halves, SP split and chunks', () => {
    expect(seqGranularity({ ringVariant: 'zigzag' }, { ulysses: 8, ring: 4, chunks: 1 })).toBe(32);
    expect(seqGranularity({ ringVariant: 'zigzag' }, { ulysses: 1, ring: 4, chunks: 1 })).toBe(8);
    expect(seqGranularity({ ringVariant: 'zigzag' }, { ulysses: 3, ring: 4, chunks: 1 })).toBe(24);
    expect(seqGranularity({ ringVariant: 'contiguous' }, { ulysses: 1, ring: 4, chunks: 2 })).toBe(
      8,
    );
    expect(seqGranularity({ ringVariant: 'zigzag' }, { ulysses: 2, ring: 1, chunks: 4 })).toBe(8);
  });
});
