// Which clusters can run a config: enough ready nodes, each with enough GPUs of the configured
// type, each GPU with the memory the planner says the best layout peaks at. Pure, unit-tested.
import type { RunConfig } from '../../../../app/config';
import type { NodeEntry, ProbeResult } from '../../../../app/protocol/nodes';
import type { PlanResult } from '../../../../app/planner/types';
import { formatBytes } from './model';

const MiB = 1024 ** 2;

export interface GpuType {
  id: string;
  label: string;
  memory_mib: number;
}

export interface Need {
  gpu: string;
  gpuLabel: string;
  nodes: number;
  gpusPerNode: number;
  /** Peak memory per GPU (per process on cpu) of the planner's best layout; null: no layout fits. */
  peakBytes: number | null;
  /** The planner's reasons when no layout fits at all. */
  infeasible: string[];
}

export interface ClusterFit {
  cluster: string;
  fits: boolean;
  /** Nodes that qualify, in name order: the first `need.nodes` of them are what launch.hosts wants. */
  eligible: string[];
  /** Why it does not fit, or what to know although it does. Plain words, worst first. */
  reasons: string[];
}

export function needOf(
  config: RunConfig,
  plan: PlanResult | null,
  catalog: Record<string, GpuType>,
): Need {
  const best = plan && plan.best !== null ? plan.layouts[plan.best] : null;
  const infeasible =
    plan && plan.best === null
      ? [...new Set(plan.layouts.flatMap((l) => l.reasons))].slice(0, 3)
      : [];
  return {
    gpu: config.cluster.gpu,
    gpuLabel: catalog[config.cluster.gpu]?.label ?? plan?.cluster.gpu_label ?? config.cluster.gpu,
    nodes: config.cluster.nodes,
    gpusPerNode: config.cluster.gpus_per_node,
    peakBytes: best ? best.memory.peak_bytes : null,
    infeasible,
  };
}

const squash = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * Whether a GPU as nvidia-smi names it ("NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB") is the
 * catalog's type: the model token from the id (h100, a100, l40s, rtx4090), the PCIe variant
 * when the id names one, and the memory size, which separates 40 GB from 80 GB parts.
 */
export function gpuMatches(gpu: { name: string; memBytes: number }, type: GpuType): boolean {
  const name = squash(gpu.name);
  const parts = type.id.toLowerCase().split('-');
  const model = parts[0];
  if (!name.includes(model)) return false;
  const wantsPcie = parts.includes('pcie');
  if (wantsPcie !== name.includes('pcie')) {
    // SXM parts never say "pcie"; a PCIe part always does.
    return false;
  }
  const mib = gpu.memBytes / MiB;
  return Math.abs(mib - type.memory_mib) / type.memory_mib < 0.08;
}

function nodeProblem(p: ProbeResult | null, need: Need, type: GpuType | undefined): string | null {
  if (!p) return 'not probed';
  if (p.verdict === 'not_ready') return 'not ready';
  if (need.gpu === 'cpu') {
    if ((p.cpus ?? 0) < need.gpusPerNode)
      return `${p.cpus ?? 0} CPUs, needs ${need.gpusPerNode} processes`;
    if (
      need.peakBytes !== null &&
      p.memBytes !== null &&
      p.memBytes < need.peakBytes * need.gpusPerNode
    )
      return `${formatBytes(p.memBytes)} RAM, needs ${formatBytes(need.peakBytes * need.gpusPerNode)}`;
    return null;
  }
  if (p.gpus.length === 0) return 'no GPU';
  const matching = type ? p.gpus.filter((g) => gpuMatches(g, type)) : [];
  if (matching.length === 0)
    return `has ${[...new Set(p.gpus.map((g) => g.name))].join(', ')}, not ${need.gpuLabel}`;
  if (matching.length < need.gpusPerNode)
    return `${matching.length} × ${need.gpuLabel}, needs ${need.gpusPerNode}`;
  if (need.peakBytes !== null) {
    // The planner's capacity is the catalog figure; the node reports what its driver sees.
    const roomy = matching.filter((g) => g.memBytes >= need.peakBytes!);
    if (roomy.length < need.gpusPerNode)
      return `GPU memory ${formatBytes(Math.max(...matching.map((g) => g.memBytes)))} < peak ${formatBytes(need.peakBytes)}`;
  }
  return null;
}

export function fitClusters(
  nodes: NodeEntry[],
  need: Need,
  catalog: Record<string, GpuType>,
): ClusterFit[] {
  const type = catalog[need.gpu];
  const byCluster = new Map<string, NodeEntry[]>();
  for (const n of nodes)
    if (n.cluster) byCluster.set(n.cluster, [...(byCluster.get(n.cluster) ?? []), n]);
  return [...byCluster.entries()]
    .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
    .map(([cluster, members]) => {
      const sorted = [...members].sort((a, b) =>
        a.name.localeCompare(b.name, undefined, { numeric: true }),
      );
      const problems = sorted.map((n) => ({
        name: n.name,
        problem: nodeProblem(n.lastProbe, need, type),
      }));
      const eligible = problems.filter((x) => x.problem === null).map((x) => x.name);
      const reasons: string[] = [];
      if (need.peakBytes === null && need.infeasible.length)
        reasons.push(`the planner finds no layout that fits: ${need.infeasible[0]}`);
      if (eligible.length < need.nodes) {
        reasons.push(
          `${eligible.length} of ${need.nodes} node${need.nodes === 1 ? '' : 's'} qualify`,
        );
      }
      for (const x of problems) if (x.problem) reasons.push(`${x.name}: ${x.problem}`);
      // A multi-node run needs every node to reach the rendezvous port (the last cluster probe).
      const names = new Set(sorted.map((n) => n.name));
      const blocked =
        need.nodes > 1
          ? sorted.flatMap((n) =>
              (n.lastProbe?.reach ?? [])
                .filter((r) => !r.ok && names.has(r.to))
                .map((r) => `${n.name} cannot reach ${r.to} at ${r.address}:${r.port}`),
            )
          : [];
      reasons.unshift(...blocked);
      const fits =
        eligible.length >= need.nodes &&
        blocked.length === 0 &&
        !(need.peakBytes === null && need.infeasible.length);
      return { cluster, fits, eligible, reasons };
    })
    .sort((a, b) => Number(b.fits) - Number(a.fits));
}
