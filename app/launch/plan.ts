// The per-node launch plan: the torchrun command, its environment, and the scripts that start,
// watch and stop it. Pure: the launcher supplies what it learned from the nodes (home dirs,
// pythons, addresses, routes) and executes the scripts this returns, over SSH or locally.
import type { NormalizedConfig } from '../config';
import type { LaunchPlan } from '../protocol/runs';
import { exportLines, posixJoin, shJoin, shq } from './shell';

export interface PlanNode {
  /** Node name as the user knows it ("this computer" for local). */
  name: string;
  /** Where this computer reaches it (SSH host or "localhost"). */
  host: string;
  /** Absolute workdir on the node (runs/ and runtime/ live under it). */
  workdir: string;
  /** Python on the node that imports torch. */
  python: string;
  /** Absolute folder on the node holding native/spindle and resources/corpus. */
  bundleDir: string;
  /** Interface on the route to the master address (NCCL/Gloo socket interface), if known. */
  iface: string | null;
}

export interface PlanInput {
  runId: string;
  target: 'local' | 'ssh';
  /** Normalized config with every "auto" resolved. */
  config: NormalizedConfig;
  nodes: PlanNode[];
  masterAddr: string;
  masterPort: number;
  warnings?: string[];
}

/** Files inside a node's run directory. The runtime owns events.jsonl and logs/rank-R.log. */
export const RUN_FILES = {
  config: 'config.json',
  events: 'events.jsonl',
  pid: 'pid',
  exitCode: 'exit_code',
  script: 'launch.sh',
  nodeLog: (nodeRank: number) => `logs/node-${nodeRank}.log`,
  rankLog: (rank: number) => `logs/rank-${rank}.log`,
} as const;

export const runDirOf = (workdir: string, runId: string) => posixJoin(workdir, 'runs', runId);

/** Global ranks on a node: torchrun's static rendezvous numbers them node by node. */
export function ranksOfNode(nodeRank: number, procsPerNode: number): number[] {
  return Array.from({ length: procsPerNode }, (_, i) => nodeRank * procsPerNode + i);
}

/** Environment of the training processes on one node. */
export function nodeEnv(
  input: PlanInput,
  node: PlanNode,
  nodeRank: number,
): Record<string, string> {
  const env: Record<string, string> = {
    PYTHONPATH: posixJoin(node.bundleDir, 'native'),
    // Logs are read while the run goes; buffered Python output would arrive minutes late.
    PYTHONUNBUFFERED: '1',
    SPINDLE_RUN_ID: input.runId,
    SPINDLE_NODE_RANK: String(nodeRank),
    SPINDLE_NODE_NAME: node.name,
  };
  if (node.iface) {
    // Without these, NCCL and Gloo pick an interface by themselves, often docker0 or one that
    // cannot reach the other nodes, and hang at the first collective.
    env.NCCL_SOCKET_IFNAME = node.iface;
    env.GLOO_SOCKET_IFNAME = node.iface;
  }
  // The user's launch.env comes last: it may deliberately override any of the above.
  return { ...env, ...input.config.launch.env };
}

/** argv of torchrun on one node. Underscored flags: torch 1.x knows only those, 2.x takes both. */
export function torchrunArgv(
  input: PlanInput,
  node: PlanNode,
  nodeRank: number,
  runDir: string,
): string[] {
  return [
    node.python,
    '-m',
    'torch.distributed.run',
    '--nnodes',
    String(input.nodes.length),
    '--node_rank',
    String(nodeRank),
    '--nproc_per_node',
    String(input.config.cluster.gpus_per_node),
    '--master_addr',
    input.masterAddr,
    '--master_port',
    String(input.masterPort),
    '--max_restarts',
    '0',
    '-m',
    'spindle',
    'train',
    posixJoin(runDir, RUN_FILES.config),
    '--run-dir',
    runDir,
  ];
}

/**
 * The script that starts one node. It runs torchrun in its own session (setsid) so it outlives
 * the SSH connection and can be signalled as one process group; the group leader's pid goes to
 * `pid`, torchrun's exit status to `exit_code` (both written by rename, never half-written).
 * The leader shell traps TERM (not ignores it: ignored signals would be inherited by torchrun) so
 * it survives a stop long enough to record torchrun's status.
 */
export function startScript(input: PlanInput, node: PlanNode, nodeRank: number): string {
  const runDir = runDirOf(node.workdir, input.runId);
  const cmd = shJoin(torchrunArgv(input, node, nodeRank, runDir));
  const inner = [
    'trap : TERM',
    `echo $$ > ${RUN_FILES.pid}.tmp && mv ${RUN_FILES.pid}.tmp ${RUN_FILES.pid}`,
    `${cmd} > ${RUN_FILES.nodeLog(nodeRank)} 2>&1`,
    `code=$?`,
    `echo $code > ${RUN_FILES.exitCode}.tmp && mv ${RUN_FILES.exitCode}.tmp ${RUN_FILES.exitCode}`,
  ].join('; ');
  return [
    'set -e',
    `cd ${shq(runDir)}`,
    `mkdir -p logs`,
    // A second start in the same run dir would fight the first over the port and the files.
    `if [ -e ${RUN_FILES.pid} ]; then echo "spindle: this run was already started here" >&2; exit 3; fi`,
    ...exportLines(nodeEnv(input, node, nodeRank)),
    `setsid sh -c ${shq(inner)} < /dev/null > /dev/null 2>&1 &`,
    'i=0',
    `while [ ! -s ${RUN_FILES.pid} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done`,
    `cat ${RUN_FILES.pid}`,
    '',
  ].join('\n');
}

/** The whole plan, as `runs.dryRun` shows it and the launcher executes it. */
export function buildLaunchPlan(input: PlanInput): LaunchPlan & { scripts: string[] } {
  const nodes = input.nodes.map((node, i) => {
    const runDir = runDirOf(node.workdir, input.runId);
    return {
      node: node.name,
      host: node.host,
      rank: i,
      runDir,
      command: shJoin(torchrunArgv(input, node, i, runDir)),
      env: nodeEnv(input, node, i),
      script: startScript(input, node, i),
    };
  });
  return {
    runId: input.runId,
    target: input.target,
    masterAddr: input.masterAddr,
    masterPort: input.masterPort,
    nodes,
    normalizedConfig: input.config as unknown as Record<string, unknown>,
    warnings: input.warnings ?? [],
    scripts: nodes.map((n) => n.script),
  };
}

// A process group counts as alive while a member is not a zombie: where PID 1 does not reap
// (some containers and VMs) a killed group can linger as zombies, which hold nothing.
const groupAlive = `{ if command -v ps >/dev/null 2>&1; then [ -n "$(ps -eo pgid=,stat= | awk -v g="$pg" '$1 == g && $2 !~ /^Z/')" ]; else kill -0 -"$pg" 2>/dev/null; fi; }`;

/**
 * Status of a node's run, in one round trip: whether its process group is alive, torchrun's exit
 * status if recorded, and the sizes of the files the host tails. The whole group is asked about:
 * a leftover worker counts as alive.
 */
export function statusScript(runDir: string, files: string[]): string {
  return [
    `cd ${shq(runDir)} 2>/dev/null || { echo "missing=1"; echo "end=1"; exit 0; }`,
    `pg=$(cat ${RUN_FILES.pid} 2>/dev/null || true)`,
    `case "$pg" in ''|*[!0-9]*) echo "pid=";; *) echo "pid=$pg"; if [ "$pg" -gt 1 ] && ${groupAlive}; then echo "alive=1"; else echo "alive=0"; fi;; esac`,
    `[ -f ${RUN_FILES.exitCode} ] && echo "exit=$(cat ${RUN_FILES.exitCode})"`,
    ...files.map((f) => `echo "size=$(wc -c < ${shq(f)} 2>/dev/null || echo -1) ${f}"`),
    // The last line proves the answer is whole: a connection dropped mid-script must not read as
    // "no live processes".
    'echo "end=1"',
    '',
  ].join('\n');
}

export interface NodeStatus {
  /** The script ran to its end; an answer without this is cut short and says nothing. */
  complete: boolean;
  missing: boolean;
  pid: number | null;
  alive: boolean;
  exitCode: number | null;
  sizes: Record<string, number>;
}

export function parseStatus(text: string): NodeStatus {
  const s: NodeStatus = {
    complete: false,
    missing: false,
    pid: null,
    alive: false,
    exitCode: null,
    sizes: {},
  };
  for (const line of text.split('\n')) {
    if (line === 'end=1') s.complete = true;
    else if (line === 'missing=1') s.missing = true;
    else if (line.startsWith('pid=')) s.pid = line.length > 4 ? Number(line.slice(4)) : null;
    else if (line === 'alive=1') s.alive = true;
    else if (line.startsWith('exit=')) {
      const n = Number(line.slice(5).trim());
      s.exitCode = Number.isInteger(n) ? n : null;
    } else if (line.startsWith('size=')) {
      const m = /^size=\s*(-?\d+)\s+(.+)$/.exec(line);
      if (m && Number(m[1]) >= 0) s.sizes[m[2]] = Number(m[1]);
    }
  }
  return s;
}

/**
 * Signal a node's process group. The pid is re-read on the node and checked to be a number above
 * 1: `kill -TERM -1` would signal every process the user owns.
 */
export function signalScript(runDir: string, signal: 'TERM' | 'KILL'): string {
  return [
    `pg=$(cat ${shq(posixJoin(runDir, RUN_FILES.pid))} 2>/dev/null || true)`,
    `case "$pg" in ''|*[!0-9]*) echo "nopid"; exit 0;; esac`,
    `[ "$pg" -gt 1 ] || { echo "nopid"; exit 0; }`,
    `kill -${signal} -"$pg" 2>/dev/null && echo "signalled" || echo "none"`,
    '',
  ].join('\n');
}

/** Processes still in the run's group (pid and command), for the "nothing is left" check. */
export function leftoverScript(runDir: string): string {
  return [
    `pg=$(cat ${shq(posixJoin(runDir, RUN_FILES.pid))} 2>/dev/null || true)`,
    `case "$pg" in ''|*[!0-9]*) exit 0;; esac`,
    `ps -eo pid=,pgid=,stat=,args= | awk -v g="$pg" '$2 == g && $3 !~ /^Z/ { print }'`,
    '',
  ].join('\n');
}
