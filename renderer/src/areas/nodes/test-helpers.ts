// Probe results and node entries for the unit tests: realistic defaults, override what matters.
import type { NodeEntry, ProbeResult } from '../../../../app/protocol/nodes';

const GiB = 1024 ** 3;

export function probe(node: string, over: Partial<ProbeResult> = {}): ProbeResult {
  return {
    node,
    at: 1_700_000_000_000,
    verdict: 'ready',
    reasons: [],
    os: 'Ubuntu 22.04',
    hostname: node,
    cpus: 8,
    memBytes: 32 * GiB,
    gpus: [],
    python: '3.11.4',
    torch: '2.4.0',
    cuda: null,
    nccl: null,
    diskFreeBytes: 100 * GiB,
    interfaces: [],
    reach: [],
    ...over,
  };
}
export function entry(name: string, cluster?: string, p: ProbeResult | null = null): NodeEntry {
  return { name, host: `${name}.lab`, port: 22, ...(cluster ? { cluster } : {}), lastProbe: p };
}
