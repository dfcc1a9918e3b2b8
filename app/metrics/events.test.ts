/// <reference types="vite/client" />
// Every line the real runtime wrote into the shared fixtures (native/tools/gen_event_fixtures.py)
// must parse with the contract; native/tests/test_events.py checks the Python side.
import { describe, expect, it } from 'vitest';
import { MEMORY_TERMS } from '../planner/types';
import { parseEventLine, type RunEvent } from './events';

const files = import.meta.glob('../../resources/fixtures/events/*.jsonl', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

function parseAll(text: string): RunEvent[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((line, i) => {
      const r = parseEventLine(line);
      if (!r.ok) throw new Error(`line ${i + 1}: ${r.error}`);
      return r.event;
    });
}

describe('event fixtures from the runtime', () => {
  it('exist: succeeded, stopped and failed runs', () => {
    expect(
      Object.keys(files)
        .map((p) => p.split('/').pop())
        .sort(),
    ).toEqual(['failed.jsonl', 'stopped.jsonl', 'succeeded.jsonl']);
  });

  for (const [path, text] of Object.entries(files)) {
    it(`${path.split('/').pop()}: every line parses`, () => {
      const events = parseAll(text);
      expect(events.length).toBeGreaterThan(0);
      const ends = events.filter((e) => e.type === 'run_end');
      expect(ends).toHaveLength(1);
    });
  }

  it('covers every event type, and memory terms use the planner names', () => {
    const events = Object.values(files).flatMap(parseAll);
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set(['run_start', 'step', 'memory', 'checkpoint', 'error', 'run_end']),
    );
    const terms = new Set<string>(MEMORY_TERMS);
    for (const e of events)
      if (e.type === 'memory')
        for (const k of Object.keys(e.terms)) expect(terms.has(k), k).toBe(true);
    const statuses = events.flatMap((e) => (e.type === 'run_end' ? [e.status] : []));
    expect(new Set(statuses)).toEqual(new Set(['succeeded', 'stopped', 'failed']));
  });

  it('succeeded run: steps in order, memory per rank, checkpoints, then run_end', () => {
    const events = parseAll(files['../../resources/fixtures/events/succeeded.jsonl']);
    const start = events[0];
    expect(start.type).toBe('run_start');
    if (start.type === 'run_start')
      expect(start.layout).toMatchObject({ ulysses: 2, ring: 2, dp: 1 });
    const steps = events.flatMap((e) => (e.type === 'step' ? [e.step] : []));
    expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events.filter((e) => e.type === 'memory')).toHaveLength(4);
    expect(events.flatMap((e) => (e.type === 'checkpoint' ? [e.path] : []))).toEqual([
      'checkpoints/step-3',
      'checkpoints/step-6',
    ]);
    expect(events[events.length - 1]).toMatchObject({
      type: 'run_end',
      status: 'succeeded',
      step: 6,
    });
  });

  it('rejects a malformed line with the field path', () => {
    const r = parseEventLine(JSON.stringify({ v: 1, t: 0, type: 'step', step: 1 }));
    expect(r.ok).toBe(false);
  });
});
