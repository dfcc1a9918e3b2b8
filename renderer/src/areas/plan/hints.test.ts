/// <reference types="vite/client" />
// Hints put the planner's verdict on YAML lines; they run against the real planner.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../../app/config';
import { planConfig, planLayout } from '../../../../app/planner';
import { locate, pinnedChoice, planHints } from './hints';
import { applyEdits } from './yaml-edit';
// Through Vite, like the app/config fixture tests: renderer/ code (tests too) does no Node I/O.
import example from '../../../../resources/examples/llama3-8b-128k.yaml?raw';

function planned(text: string) {
  const r = parseConfigText(text);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const plan = planConfig(r.config);
  const explain = plan.layouts.length === 0 ? planLayout(r.config, pinnedChoice(r.config)) : null;
  return { config: r.config, plan, explain, hints: planHints(r.config, text, plan, explain) };
}

describe('planHints', () => {
  it('says nothing when a layout fits', () => {
    expect(planned(example).hints).toEqual([]);
  });

  it('puts "ulysses 3 cannot split 32 heads" on the ulysses line when nothing can run', () => {
    const text = applyEdits(example, [{ path: ['parallel', 'ulysses'], value: 3 }]);
    const { hints, plan, explain } = planned(text);
    // The search lists nothing (no ring completes 16 GPUs with ulysses 3); the pinned layout says why.
    expect(plan.layouts).toHaveLength(0);
    expect(explain?.reasons.join(' ')).toContain(
      "32 attention heads can't be split evenly over ulysses 3",
    );
    const line = text.split('\n').findIndex((l) => l.includes('ulysses: 3')) + 1;
    const onUlysses = hints.find((h) => h.path === 'parallel.ulysses');
    expect(onUlysses).toMatchObject({ line, column: 3 });
    expect(onUlysses?.message).toMatch(/^No layout fits: .*ulysses 3/);
  });

  it('puts memory verdicts on seq_len', () => {
    const text = applyEdits(example, [
      { path: ['training', 'seq_len'], value: 64 * 1024 * 1024 },
      { path: ['parallel', 'zero'], value: 3 },
    ]);
    const { hints, plan } = planned(text);
    expect(plan.best).toBeNull();
    const onSeq = hints.find((h) => h.path === 'training.seq_len');
    expect(onSeq?.message).toMatch(/needs [\d.]+ (GiB|TiB) per GPU/);
    expect(onSeq?.line).toBe(text.split('\n').findIndex((l) => l.includes('seq_len:')) + 1);
  });
});

describe('pinnedChoice', () => {
  it('takes fixed fields as they are and neutral values for open ones', () => {
    const r = parseConfigText(applyEdits(example, [{ path: ['parallel', 'ulysses'], value: 3 }]));
    if (!r.ok) throw new Error('invalid');
    expect(pinnedChoice(r.config)).toEqual({
      ulysses: 3,
      ring: 1,
      dp: 5,
      zero: 3,
      checkpointing: 'full',
      offload: { optimizer: false, params: false, activations: false },
      chunks: 1,
    });
  });
});

describe('locate', () => {
  it('spans the key and value, 1-based', () => {
    expect(locate('a: 1\nb:\n  c: x\n', ['b', 'c'])).toEqual({
      line: 3,
      column: 3,
      endLine: 3,
      endColumn: 7,
    });
    // A missing field points at the deepest parent that exists.
    expect(locate('a: 1\nb:\n  c: x\n', ['b', 'd']).line).toBe(2);
  });
});
