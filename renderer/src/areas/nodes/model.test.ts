import { describe, expect, it } from 'vitest';
import { entry, probe } from './test-helpers';
import {
  emptyForm,
  formFieldOf,
  formatBytes,
  gpuSummary,
  groupByCluster,
  reachMatrix,
  suggestName,
  summarizeCluster,
  timeAgo,
  validateForm,
  worstVerdict,
} from './model';

const GiB = 1024 ** 3;

describe('node form validation', () => {
  it('accepts a minimal node and fills the default port', () => {
    const r = validateForm({ ...emptyForm(), name: 'gpu-01', host: 'gpu-01.lab', port: '' });
    expect(r.errors).toBeNull();
    expect(r.spec).toEqual({ name: 'gpu-01', host: 'gpu-01.lab', port: 22 });
  });

  it('names the field in every message', () => {
    const r = validateForm({
      ...emptyForm(),
      name: 'bad name!',
      host: '',
      port: '70000',
      cluster: 'a b',
    });
    expect(r.spec).toBeNull();
    expect(r.errors).toMatchObject({
      name: expect.stringMatching(/^Name /),
      host: 'Host is required.',
      port: expect.stringMatching(/^Port /),
      cluster: expect.stringMatching(/^Cluster /),
    });
  });

  it('rejects a port that is not a whole number', () => {
    for (const port of ['22.5', 'abc', '0', '-1'])
      expect(
        validateForm({ ...emptyForm(), name: 'n', host: 'h', port }).errors?.port,
      ).toBeDefined();
  });

  it('keeps optional fields only when given, trimmed', () => {
    const r = validateForm({
      ...emptyForm(),
      name: 'n',
      host: ' h ',
      user: ' me ',
      identityFile: '~/.ssh/k',
      proxyJump: 'bastion',
      cluster: 'c1',
      port: '2222',
    });
    expect(r.spec).toEqual({
      name: 'n',
      host: 'h',
      port: 2222,
      user: 'me',
      identityFile: '~/.ssh/k',
      proxyJump: 'bastion',
      cluster: 'c1',
    });
  });

  it('maps host error fields onto the form', () => {
    expect(formFieldOf('node.port')).toBe('port');
    expect(formFieldOf('name')).toBe('name');
    expect(formFieldOf('aliases')).toBeNull();
    expect(formFieldOf(undefined)).toBeNull();
  });

  it('suggests a node name from the host', () => {
    expect(suggestName('gpu-01.lab.example.org')).toBe('gpu-01');
    expect(suggestName('root@10.0.0.7')).toBe('10.0.0.7');
    expect(suggestName('my host')).toBe('my-host');
    expect(suggestName('')).toBe('');
  });
});

describe('clusters', () => {
  it('groups named clusters first, alphabetically and numerically, then the rest', () => {
    const g = groupByCluster([entry('n10', 'b'), entry('x'), entry('n2', 'b'), entry('m', 'a')]);
    expect(g.map((x) => [x.name, x.nodes.map((n) => n.name)])).toEqual([
      ['a', ['m']],
      ['b', ['n2', 'n10']],
      [null, ['x']],
    ]);
  });

  it('summarizes GPUs and takes the worst verdict', () => {
    const h100 = {
      name: 'NVIDIA H100 80GB HBM3',
      memBytes: 80 * GiB,
      driver: '550.54',
      cuda: '12.4',
    };
    const s = summarizeCluster([
      entry('a', 'c', probe('a', { gpus: [h100, h100] })),
      entry('b', 'c', probe('b', { verdict: 'warning', gpus: [h100] })),
      entry('c', 'c'),
    ]);
    expect(s).toEqual({
      nodes: 3,
      probed: 2,
      gpus: 3,
      gpuNames: ['NVIDIA H100 80GB HBM3'],
      verdict: 'unknown',
    });
    expect(worstVerdict(['ready', 'warning'])).toBe('warning');
    expect(worstVerdict(['ready', 'not_ready', 'unknown'])).toBe('not_ready');
    expect(worstVerdict([])).toBe('unknown');
  });
});

describe('probe facts in words', () => {
  it('formats bytes', () => {
    expect(formatBytes(null)).toBe('—');
    expect(formatBytes(1.5 * GiB)).toBe('1.5 GiB');
    expect(formatBytes(251 * GiB)).toBe('251 GiB');
    expect(formatBytes(3 * 1024 ** 4)).toBe('3.0 TiB');
  });

  it('counts GPUs by kind', () => {
    const g = (name: string, mem: number) => ({
      name,
      memBytes: mem * GiB,
      driver: null,
      cuda: null,
    });
    expect(gpuSummary([])).toBeNull();
    expect(gpuSummary([g('A', 80), g('A', 80)])).toBe('2 × A · 80.0 GiB');
    expect(gpuSummary([g('A', 80), g('B', 24)])).toBe('1 × A · 80.0 GiB, 1 × B · 24.0 GiB');
  });

  it('says how long ago', () => {
    const now = 10_000_000;
    expect(timeAgo(now - 2000, now)).toBe('just now');
    expect(timeAgo(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(timeAgo(now - 3 * 3600_000, now)).toBe('3 h ago');
  });
});

describe('reachability matrix', () => {
  it('fills from each node’s reach list and counts failures', () => {
    const a = entry(
      'a',
      'c',
      probe('a', { reach: [{ to: 'b', address: '10.0.0.2', port: 29500, ok: true }] }),
    );
    const b = entry(
      'b',
      'c',
      probe('b', {
        reach: [
          { to: 'a', address: '10.0.0.1', port: 29500, ok: false, error: 'connection refused' },
        ],
      }),
    );
    const m = reachMatrix([a, b]);
    expect(m.tested).toBe(true);
    expect(m.failures).toBe(1);
    expect(m.cells[0][0].ok).toBeNull();
    expect(m.cells[0][1]).toEqual({ ok: true, title: 'a → b reaches 10.0.0.2:29500' });
    expect(m.cells[1][0]).toEqual({
      ok: false,
      title: 'b → a cannot reach 10.0.0.1:29500: connection refused',
    });
  });

  it('is untested without cluster probes', () => {
    expect(reachMatrix([entry('a', 'c', probe('a')), entry('b', 'c')]).tested).toBe(false);
  });
});
