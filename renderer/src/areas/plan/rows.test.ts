/// <reference types="vite/client" />
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../../app/config';
import { planConfig } from '../../../../app/planner';
import { rankedRows, tableRows } from './rows';
import { applyEdits } from './yaml-edit';
// Through Vite, like the app/config fixture tests: renderer/ code (tests too) does no Node I/O.
import example from '../../../../resources/examples/llama3-8b-128k.yaml?raw';

function plan(seqLen: number) {
  const r = parseConfigText(
    applyEdits(example, [{ path: ['training', 'seq_len'], value: seqLen }]),
  );
  if (!r.ok) throw new Error('invalid');
  return planConfig(r.config);
}

describe('table rows', () => {
  const p = plan(393216); // 384k on 16 H100s: some layouts fit, some do not

  it('rank is the planner order, and the default view is its feasible part in that order', () => {
    const ranked = rankedRows(p);
    expect(ranked.map((r) => r.rank)).toEqual(ranked.map((_, i) => i + 1));
    const rows = tableRows(p, { key: 'rank', dir: 'asc' }, false);
    expect(rows.every((r) => r.layout.feasible)).toBe(true);
    expect(rows.map((r) => r.rank)).toEqual(
      ranked.filter((r) => r.layout.feasible).map((r) => r.rank),
    );
  });

  it('infeasible rows come after all feasible ones, only with the toggle', () => {
    const all = tableRows(p, { key: 'memory', dir: 'asc' }, true);
    expect(all.length).toBe(p.layouts.length);
    const firstBad = all.findIndex((r) => !r.layout.feasible);
    expect(firstBad).toBeGreaterThan(0);
    expect(all.slice(firstBad).every((r) => !r.layout.feasible)).toBe(true);
  });

  it('sorts by a column in either direction, ties by rank', () => {
    const asc = tableRows(p, { key: 'memory', dir: 'asc' }, false).map(
      (r) => r.layout.memory.peak_bytes / r.layout.memory.capacity_bytes,
    );
    expect(asc).toEqual([...asc].sort((a, b) => a - b));
    const desc = tableRows(p, { key: 'tokens', dir: 'desc' }, false).map(
      (r) => r.layout.tokens_per_s,
    );
    expect(desc).toEqual([...desc].sort((a, b) => b - a));
  });

  it('keys identify a layout across plans of the same config', () => {
    const a = rankedRows(plan(131072)).map((r) => r.key);
    const b = rankedRows(plan(262144)).map((r) => r.key);
    expect(new Set(a).size).toBe(a.length);
    expect(a.filter((k) => b.includes(k)).length).toBeGreaterThan(0);
  });
});
