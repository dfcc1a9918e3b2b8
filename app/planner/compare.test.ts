import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../metrics/events';
import { compareMemory, formatCompareTable, formatError, planForRun } from './compare';
import { layout, makeConfig } from './fixtures.test-util';
import { planLayout } from './search';

// A run's events as the runtime writes them, with each measured term set from the plan so the
// comparison has exact agreement to start from; tests then move one number and watch the verdict.
const config = makeConfig({
  training: { seq_len: 512, loss: 'materialized' },
  cluster: { gpu: 'cpu' },
});
const choice = layout({ zero: 1, checkpointing: 'selective' });
const plan = planLayout(config, choice, undefined, { torch: '1.13.0' });

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests poke at nested event fields freely
type Loose = Record<string, any>;

function runEvents(edit: (m: Loose) => void = () => {}): RunEvent[] {
  const start = {
    v: 1,
    t: 0,
    type: 'run_start',
    name: 'x',
    config_hash: 'h',
    world: 4,
    nodes: 1,
    layout: {
      dp: 1,
      ring: 2,
      ulysses: 2,
      zero: 1,
      checkpointing: 'selective',
      chunks: 1,
      ring_variant: 'zigzag',
    },
    device: 'cpu',
    versions: { spindle: '0', python: '3', torch: '1.13.0', cuda: null },
  };
  const mem = [0, 1, 2, 3].map((rank) => {
    const phases = {
      loss: { ...pick(plan.memory.phases.loss), logits: plan.memory.phases.loss.logits },
      layer_backward: { ...pick(plan.memory.phases.layer_backward) },
    };
    const m: Loose = {
      v: 1,
      t: 0,
      type: 'memory',
      step: 1,
      rank,
      terms: phases.loss,
      phase: 'loss',
      phases,
      saved: {
        layers: [plan.memory.saved.per_layer, plan.memory.saved.per_layer],
        embedding: plan.memory.saved.embedding,
        head: 0,
        remat: plan.memory.saved.remat,
        rope: 0,
      },
      peaks: { step: 3_000_000, loss: 2_000_000, layer_backward: 3_000_000 },
      cuda: null,
    };
    if (rank === 3) edit(m);
    return m;
  });
  return [start, ...mem] as unknown as RunEvent[];
}

function pick(t: Record<string, number>) {
  const { weights, grads, optimizer, activations, comm_buffers, workspace } = t;
  return { weights, grads, optimizer, activations, comm_buffers, workspace };
}

describe('compareMemory', () => {
  it('agrees row by row when the run measured what the planner predicts', () => {
    const c = compareMemory(plan, runEvents());
    expect(c.ok).toBe(true);
    expect(c.ranks).toBe(4);
    const row = (phase: string, term: string) =>
      c.rows.find((r) => r.phase === phase && r.term === term)!;
    expect(row('loss', 'weights')).toMatchObject({
      predicted: plan.memory.breakdown.weights,
      error: 0,
      tolerance: 0,
      ok: true,
    });
    expect(row('loss', 'activations').tolerance).toBe(0.02);
    expect(row('loss', 'activations: layer 1').measured).toBe(plan.memory.saved.per_layer);
    expect(row('layer_backward', 'activations: recompute').predicted).toBe(plan.memory.saved.remat);
    // workspace and the step's allocated bytes are shown, not checked
    expect(row('layer_backward', 'workspace').ok).toBeNull();
    expect(row('step', 'allocated')).toMatchObject({ measured: 3_000_000, ok: null });
    // calibrated terms without a CUDA measurement are not rows
    expect(c.rows.some((r) => r.term === 'framework')).toBe(false);
  });

  it('fails on a state off by one byte, on any rank', () => {
    const c = compareMemory(
      plan,
      runEvents((m) => (m.phases.loss.grads += 1)),
    );
    expect(c.ok).toBe(false);
    expect(c.failures.map((f) => `${f.phase} ${f.term}`)).toEqual(['loss grads']);
  });

  it('holds saved activations to 2 %, per moment and per layer', () => {
    const within = compareMemory(
      plan,
      runEvents((m) => (m.saved.layers[0] = Math.round(m.saved.layers[0] * 1.019))),
    );
    expect(within.ok).toBe(true);
    const over = compareMemory(
      plan,
      runEvents((m) => (m.saved.layers[0] = Math.round(m.saved.layers[0] * 1.021))),
    );
    expect(over.failures.map((f) => f.term)).toEqual(['activations: layer 0']);
  });

  it('a drifting prediction fails the check (perturb)', () => {
    const c = compareMemory(plan, runEvents(), { perturb: { activations: 1.03 } });
    expect(c.ok).toBe(false);
    expect(c.failures.every((f) => f.term.startsWith('activations'))).toBe(true);
    expect(c.failures.length).toBe(2 + 2 + 2); // both moments, both layers, embedding and recompute
    expect(
      compareMemory(plan, runEvents(), { perturb: { weights: 1 + 1e-9 } }).failures.map(
        (f) => f.term,
      ),
    ).toEqual(['weights', 'weights']);
  });

  it('reads the layout and the torch version from the run', () => {
    const again = planForRun(config, runEvents());
    expect(again.memory).toEqual(plan.memory);
    const torch2 = planForRun(config, runEvents(), { torch: '2.3.0' });
    expect(torch2.memory.saved.per_layer).toBeLessThan(plan.memory.saved.per_layer); // no squared norm inputs
  });

  it('older runtimes (states only, no phases) compare the states and mark the rest not measured', () => {
    const old = runEvents().map((e) =>
      e.type === 'memory'
        ? ({
            ...e,
            phases: undefined,
            saved: undefined,
            peaks: undefined,
            terms: { weights: plan.memory.breakdown.weights },
          } as RunEvent)
        : e,
    );
    const c = compareMemory(plan, old);
    expect(c.rows.find((r) => r.term === 'weights')!.ok).toBe(true);
    expect(c.rows.find((r) => r.term === 'activations')!.measured).toBeNull();
    expect(c.ok).toBe(true);
  });

  it('prints a table with the verdict', () => {
    const text = formatCompareTable(
      compareMemory(
        plan,
        runEvents((m) => (m.phases.loss.optimizer *= 2)),
      ),
    );
    expect(text).toMatch(/optimizer .* \+100\.0 % +exact +OVER/);
    expect(text).toMatch(/1 term over tolerance: optimizer \(loss\) \+100\.0 %/);
    expect(formatError(-0.031)).toBe('−3.10 %');
    expect(formatError(null)).toBe('—');
  });
});
