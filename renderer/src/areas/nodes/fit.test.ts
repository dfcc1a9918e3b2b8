import { describe, expect, it } from 'vitest';
import type { PlanResult } from '../../../../app/planner/types';
import type { RunConfig } from '../../../../app/config';
import gpus from '../../../../resources/presets/gpus.json';
import { fitClusters, gpuMatches, needOf, type GpuType } from './fit';
import { entry, probe } from './test-helpers';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const catalog: Record<string, GpuType> = Object.fromEntries(
  Object.entries(gpus as Record<string, { label: string; memory_mib: number }>)
    .filter(([id]) => !id.startsWith('$'))
    .map(([id, g]) => [id, { id, label: g.label, memory_mib: g.memory_mib }]),
);
const gpu = (name: string, mib: number) => ({
  name,
  memBytes: mib * MiB,
  driver: '550.54',
  cuda: '12.4',
});
const H100 = gpu('NVIDIA H100 80GB HBM3', 81559);
const A100_40 = gpu('NVIDIA A100-SXM4-40GB', 40960);

describe('GPU type matching', () => {
  it('recognises nvidia-smi names against catalog ids', () => {
    expect(gpuMatches(H100, catalog['h100-80g'])).toBe(true);
    expect(gpuMatches(H100, catalog['h100-pcie-80g'])).toBe(false);
    expect(gpuMatches(gpu('NVIDIA H100 PCIe', 81559), catalog['h100-pcie-80g'])).toBe(true);
    expect(gpuMatches(A100_40, catalog['a100-40g'])).toBe(true);
    expect(gpuMatches(A100_40, catalog['a100-80g'])).toBe(false);
    expect(gpuMatches(gpu('NVIDIA GeForce RTX 4090', 24564), catalog['rtx4090-24g'])).toBe(true);
    expect(gpuMatches(gpu('NVIDIA L40S', 46068), catalog['h100-80g'])).toBe(false);
  });
});

const config = (gpuId: string, nodes: number, gpn: number) =>
  ({ cluster: { gpu: gpuId, nodes, gpus_per_node: gpn } }) as RunConfig;
const plan = (peak: number | null, reasons: string[] = []) =>
  ({
    cluster: { gpu_label: 'x' },
    best: peak === null ? null : 0,
    layouts: [{ memory: { peak_bytes: peak ?? 0 }, reasons }],
  }) as unknown as PlanResult;

describe('cluster fit', () => {
  const gpuNode = (name: string, cluster: string, n: number, g = H100, over = {}) =>
    entry(name, cluster, probe(name, { gpus: Array(n).fill(g), ...over }));

  it('fits when enough nodes have enough GPUs of the type with the planned memory', () => {
    const need = needOf(config('h100-80g', 2, 8), plan(60 * GiB), catalog);
    const fits = fitClusters(
      [gpuNode('a1', 'big', 8), gpuNode('a2', 'big', 8), gpuNode('b1', 'small', 8)],
      need,
      catalog,
    );
    expect(fits.map((f) => [f.cluster, f.fits])).toEqual([
      ['big', true],
      ['small', false],
    ]);
    expect(fits[0].eligible).toEqual(['a1', 'a2']);
    expect(fits[1].reasons[0]).toBe('1 of 2 nodes qualify');
  });

  it('says why a node does not qualify', () => {
    const need = needOf(config('h100-80g', 1, 8), plan(60 * GiB), catalog);
    const reasons = (n: ReturnType<typeof entry>) => fitClusters([n], need, catalog)[0].reasons[1];
    expect(reasons(gpuNode('x', 'c', 4))).toBe('x: 4 × NVIDIA H100 SXM5 80GB, needs 8');
    expect(reasons(gpuNode('x', 'c', 8, A100_40))).toBe(
      'x: has NVIDIA A100-SXM4-40GB, not NVIDIA H100 SXM5 80GB',
    );
    expect(reasons(gpuNode('x', 'c', 8, H100, { verdict: 'not_ready' }))).toBe('x: not ready');
    expect(reasons(entry('x', 'c'))).toBe('x: not probed');
    expect(reasons(gpuNode('x', 'c', 0))).toBe('x: no GPU');
    const tight = needOf(config('h100-80g', 1, 8), plan(90 * GiB), catalog);
    expect(fitClusters([gpuNode('x', 'c', 8)], tight, catalog)[0].reasons[1]).toMatch(
      /^x: GPU memory 79\.6 GiB < peak 90\.0 GiB$/,
    );
  });

  it('runs cpu configs on any ready node with the cores and the RAM', () => {
    const need = needOf(config('cpu', 2, 2), plan(1 * GiB), catalog);
    const fits = fitClusters(
      [
        entry('a', 'c', probe('a', { cpus: 2 })),
        entry('b', 'c', probe('b', { cpus: 4 })),
        entry('d', 'd', probe('d', { cpus: 1 })),
      ],
      need,
      catalog,
    );
    expect(fits.find((f) => f.cluster === 'c')?.fits).toBe(true);
    expect(fits.find((f) => f.cluster === 'd')?.reasons).toContain('d: 1 CPUs, needs 2 processes');
  });

  it('fits nothing when the planner finds no layout', () => {
    const need = needOf(
      config('h100-80g', 1, 8),
      plan(null, ['activations exceed memory']),
      catalog,
    );
    expect(need.peakBytes).toBeNull();
    const [f] = fitClusters([gpuNode('a', 'c', 8)], need, catalog);
    expect(f.fits).toBe(false);
    expect(f.reasons[0]).toBe('the planner finds no layout that fits: activations exceed memory');
  });

  it('does not fit a multi-node run when a node cannot reach the rendezvous port', () => {
    const need = needOf(config('h100-80g', 2, 8), plan(60 * GiB), catalog);
    const reach = [{ to: 'a1', address: '10.0.0.1', port: 29500, ok: false, error: 'refused' }];
    const [f] = fitClusters(
      [gpuNode('a1', 'c', 8), gpuNode('a2', 'c', 8, H100, { reach })],
      need,
      catalog,
    );
    expect(f.fits).toBe(false);
    expect(f.reasons[0]).toBe('a2 cannot reach a1 at 10.0.0.1:29500');
    // One node needs no rendezvous across machines.
    const single = needOf(config('h100-80g', 1, 8), plan(60 * GiB), catalog);
    expect(
      fitClusters(
        [gpuNode('a1', 'c', 8), gpuNode('a2', 'c', 8, H100, { reach })],
        single,
        catalog,
      )[0].fits,
    ).toBe(true);
  });

  it('leaves nodes outside clusters out', () => {
    const need = needOf(config('cpu', 1, 1), plan(GiB), catalog);
    expect(fitClusters([entry('loose', undefined, probe('loose'))], need, catalog)).toEqual([]);
  });
});
