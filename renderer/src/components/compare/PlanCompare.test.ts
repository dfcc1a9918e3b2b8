// PlanCompare rendered to HTML (node environment, no DOM): real plan, events shaped as the runtime
// writes them, one term moved over its tolerance.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';
import { validateConfigObject } from '../../../../app/config';
import type { RunEvent } from '../../../../app/metrics/events';
import { compareMemory, planLayout, type LayoutPlan } from '../../../../app/planner';
import { TINY_ARCH } from '../../../../app/planner/fixtures.test-util';

vi.mock('./compare.css', () => ({}));
const { PlanCompare, verdict, visibleRows } = await import('./PlanCompare');

const r = validateConfigObject({
  version: 1,
  name: 'x',
  model: { architecture: TINY_ARCH },
  training: { seq_len: 256, precision: 'bf16', loss: 'materialized' },
  parallel: { ulysses: 1, ring: 1, zero: 0, checkpointing: 'none' },
  cluster: { gpu: 'cpu', nodes: 1, gpus_per_node: 1 },
});
if (!r.ok) throw new Error('bad config');
const layout = {
  ulysses: 1,
  ring: 1,
  dp: 1,
  zero: 0 as const,
  checkpointing: 'none' as const,
  chunks: 1,
  offload: { optimizer: false, params: false, activations: false },
};
const plan: LayoutPlan = planLayout(r.config, layout, undefined, { torch: '1.13.0' });

function events(scaleOptimizer = 1): RunEvent[] {
  const loss = plan.memory.phases.loss;
  const terms = {
    weights: loss.weights,
    grads: loss.grads,
    optimizer: loss.optimizer * scaleOptimizer,
    activations: loss.activations,
    logits: loss.logits,
    comm_buffers: loss.comm_buffers,
    workspace: loss.workspace,
  };
  const lb = plan.memory.phases.layer_backward;
  return [
    {
      v: 1,
      t: 0,
      type: 'memory',
      step: 1,
      rank: 0,
      terms,
      phase: 'loss',
      phases: {
        loss: terms,
        layer_backward: {
          ...terms,
          activations: lb.activations,
          logits: 0,
          workspace: 10 * lb.workspace,
        },
      },
      saved: {
        layers: [plan.memory.saved.per_layer, plan.memory.saved.per_layer],
        embedding: plan.memory.saved.embedding,
        head: 0,
        remat: 0,
        rope: 0,
      },
      peaks: { step: 5_000_000 },
    } as RunEvent,
  ];
}

describe('PlanCompare', () => {
  it('shows every term with human units, error and tolerance, grouped by moment', () => {
    const html = renderToStaticMarkup(createElement(PlanCompare, { plan, events: events() }));
    expect(html).toContain('data-ok="true"');
    expect(html).toContain('All ');
    expect(html).toMatch(/end of forward \/ loss/);
    expect(html).toMatch(/last layer backward/);
    expect(html).toMatch(
      />optimizer<\/th><td>[\d.]+ MiB<\/td><td>[\d.]+ MiB<\/td><td class="plan-compare-error">\+0\.00 %<\/td><td>exact<\/td>/,
    );
    expect(html).toMatch(/is-unchecked/); // workspace at layer backward: shown, not checked
    expect(html).not.toMatch(/is-over/);
  });

  it('highlights a term over its tolerance and says which', () => {
    const c = compareMemory(plan, events(1.1));
    const html = renderToStaticMarkup(createElement(PlanCompare, { comparison: c }));
    expect(html).toContain('data-ok="false"');
    expect(html).toMatch(
      /class="plan-compare-row is-over" data-status="over"[^>]*><th scope="row">optimizer/,
    );
    expect(verdict(c)).toMatch(
      /^2 of \d+ checked terms are over tolerance: optimizer \(\+10\.0 %\), optimizer/,
    );
  });

  it('hides unchecked rows on request; says when nothing was measured', () => {
    const c = compareMemory(plan, events());
    expect(visibleRows(c, false).every((r) => r.ok !== null)).toBe(true);
    expect(visibleRows(c, true).length).toBeGreaterThan(visibleRows(c, false).length);
    expect(verdict(compareMemory(plan, []))).toMatch(/No memory measurement/);
  });
});
