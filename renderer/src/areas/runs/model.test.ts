import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../../../app/protocol/runs';
import { filterRuns } from './model';

const run = (
  id: string,
  name: string,
  target: string,
  status: RunSummary['status'],
): RunSummary => ({
  id,
  name,
  target,
  status,
  startedAt: 0,
  endedAt: null,
  lastStep: null,
  lastLoss: null,
  totalSteps: null,
  error: null,
  configYaml: '',
});

describe('filterRuns', () => {
  const runs = [
    run('a1', 'tiny-llama-cpu', 'this computer', 'succeeded'),
    run('b2', 'llama3-8b-128k', 'node-a, node-b', 'running'),
    run('c3', 'tiny-two-nodes', 'node-a, node-b', 'failed'),
    run('d4', 'tiny-llama-cpu', 'this computer', 'stopping'),
  ];
  const ids = (r: RunSummary[]) => r.map((x) => x.id);

  it('matches every word against name, target, status and id', () => {
    expect(ids(filterRuns(runs, 'tiny node-b', 'all'))).toEqual(['c3']);
    expect(ids(filterRuns(runs, 'FAILED', 'all'))).toEqual(['c3']);
    expect(ids(filterRuns(runs, 'b2', 'all'))).toEqual(['b2']);
    expect(ids(filterRuns(runs, '  ', 'all'))).toEqual(['a1', 'b2', 'c3', 'd4']);
  });

  it('splits active from finished runs', () => {
    expect(ids(filterRuns(runs, '', 'active'))).toEqual(['b2', 'd4']);
    expect(ids(filterRuns(runs, '', 'finished'))).toEqual(['a1', 'c3']);
    expect(ids(filterRuns(runs, 'cpu', 'active'))).toEqual(['d4']);
  });
});
