import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../../app/metrics/events';
import { measuredBytes, RunTrace } from './run-trace';

const T0 = 1_700_000_000;
const start = (t = T0): RunEvent => ({
  v: 1,
  t,
  type: 'run_start',
  name: 'tiny',
  config_hash: 'h',
  world: 2,
  nodes: 1,
  layout: {
    dp: 1,
    ring: 1,
    ulysses: 2,
    zero: 1,
    checkpointing: 'full',
    chunks: 1,
    ring_variant: 'zigzag',
  },
  device: 'cpu',
  versions: { spindle: '0', python: '3', torch: '2', cuda: null },
});
const step = (s: number, loss: number, t = T0 + s): RunEvent => ({
  v: 1,
  t,
  type: 'step',
  step: s,
  loss,
  lr: 1e-3,
  grad_norm: 1,
  tokens: s * 512,
  tokens_per_s: 512,
  elapsed_s: t - T0,
});
const mem = (s: number, rank: number, bytes: number): RunEvent => ({
  v: 1,
  t: T0 + s,
  type: 'memory',
  step: s,
  rank,
  terms: { weights: bytes / 2, activations: bytes / 2 },
});

describe('RunTrace', () => {
  it('ignores events it already has when a re-subscription overlaps', () => {
    const tr = new RunTrace('r', 0);
    const evs = [start(), step(1, 3), step(2, 2.5), step(3, 2)];
    evs.forEach((e, i) => tr.apply(i, e));
    // Reconnected and asked from index 2, but the host sent from 1.
    evs.slice(1).forEach((e, i) => tr.apply(i + 1, e));
    expect(tr.table.length).toBe(3);
    expect(tr.nextIndex).toBe(4);
    expect(tr.applied).toBe(4);
  });

  it('measures wall time from the first run_start, across a resume', () => {
    const tr = new RunTrace('r', 0);
    tr.apply(0, start());
    tr.apply(1, step(1, 3, T0 + 10));
    tr.apply(2, step(2, 2.9, T0 + 20));
    // Resumed later from a checkpoint at step 1: the replayed step 2 replaces the old one.
    tr.apply(3, start(T0 + 100));
    tr.apply(4, step(2, 2.8, T0 + 110));
    expect([...tr.table.xs('step')]).toEqual([1, 2]);
    expect([...tr.table.xs('time')]).toEqual([10, 110]);
    expect(tr.table.raw('loss')[1]).toBe(2.8);
  });

  it('keeps memory per rank and maps its steps onto the chosen axis', () => {
    const tr = new RunTrace('r', 0);
    tr.apply(0, start());
    [1, 2, 3].forEach((s, i) => tr.apply(1 + i, step(s, 1)));
    tr.apply(4, mem(1, 0, 100));
    tr.apply(5, mem(1, 1, 120));
    tr.apply(6, mem(3, 0, 300));
    expect(tr.memory.get(0)!.bytes).toEqual([100, 300]);
    expect(tr.memory.get(1)!.steps).toEqual([1]);
    expect(tr.xOfStep('tokens', 3)).toBe(1536);
    // A resumed run's replayed memory report replaces what came after its checkpoint.
    tr.apply(7, mem(2, 0, 200));
    expect(tr.memory.get(0)!.steps).toEqual([1, 2]);
  });

  it("charts each step's allocated peak, the quantity the planner's allocated peak predicts", () => {
    const base = { v: 1, t: T0, type: 'memory', step: 1, rank: 0 } as const;
    const terms = { weights: 10, activations: 20 };
    // GPU: CUDA's max_memory_allocated, not the terms at one moment nor what the pool reserved.
    expect(
      measuredBytes({
        ...base,
        terms,
        cuda: { max_allocated: 500, reserved: 800 },
        rss_bytes: 9e9,
      }),
    ).toBe(500);
    // CPU: the trace's peak over the step, not the process's RSS.
    expect(measuredBytes({ ...base, terms, peaks: { step: 70, loss: 40 }, rss_bytes: 9e9 })).toBe(
      70,
    );
    // Runtimes that report neither: the terms, else RSS.
    expect(measuredBytes({ ...base, terms })).toBe(30);
    expect(measuredBytes({ ...base, terms: {}, rss_bytes: 4096 })).toBe(4096);
  });

  it('records the end, errors and checkpoints', () => {
    const tr = new RunTrace('r', 0);
    tr.apply(0, start());
    tr.apply(1, { v: 1, t: T0 + 1, type: 'checkpoint', step: 1, path: '/x/ckpt-1' });
    tr.apply(2, { v: 1, t: T0 + 2, type: 'error', rank: 1, message: 'boom' });
    tr.apply(3, { v: 1, t: T0 + 3, type: 'run_end', status: 'failed', step: 1, elapsed_s: 3 });
    expect(tr.checkpoints).toHaveLength(1);
    expect(tr.errors[0].message).toBe('boom');
    expect(tr.end?.status).toBe('failed');
  });
});
