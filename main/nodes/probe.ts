// Probing a node: OS, CPUs, memory, GPUs, the Python that has PyTorch, the runtime's own check
// (python -m spindle check), free disk in the workdir, network interfaces; then a verdict with
// reasons, worst first. "No GPU" is a fact about a node, not a fault: CPU configs run there.
import {
  INLINE_CHECK,
  groupByInterface,
  noTorchAdvice,
  parseProbe,
  parsePythonFinder,
  parseRuntimeCheck,
  posixJoin,
  probeScript,
  pythonCandidates,
  pythonFinderScript,
  shq,
  type ProbeFacts,
  type PythonFinding,
  type RuntimeCheck,
} from '../../app/launch';
import type { ProbeResult, ProgressEvent } from '../../app/protocol/nodes';
import type { Bundle } from '../provision/bundle';
import { ensureRuntime } from '../provision/runtime';
import type { NodeChannel } from '../ssh/connection';

const GB = 1024 ** 3;

export interface ProbeDetail {
  result: ProbeResult;
  facts: ProbeFacts;
  python: PythonFinding;
  check: RuntimeCheck | null;
  runtimeDir: string | null;
}

export interface ProbeOptions {
  node: string;
  workdir: string;
  /** Pythons to try first (the node's, then the run config's). */
  python: (string | undefined)[];
  /** The runtime to put on the node for `spindle check`; null when this computer has none. */
  bundle: Bundle | null;
  /** A runtime already in place (this computer: the resources folder); skips the upload. */
  runtimeDir?: string;
  progress?: (p: ProgressEvent) => void;
}

export async function probeNode(ch: NodeChannel, opts: ProbeOptions): Promise<ProbeDetail> {
  const { node } = opts;
  const progress = (
    step: string,
    status: ProgressEvent['status'],
    detail?: string,
    fraction?: number,
  ) =>
    opts.progress?.({
      step,
      node,
      status,
      ...(detail ? { detail } : {}),
      ...(fraction !== undefined ? { fraction } : {}),
    });
  const reasons: { level: 0 | 1 | 2; text: string }[] = [];
  progress('probe', 'running', 'system');
  const sys = await ch.exec('sh -s', { stdin: probeScript(opts.workdir), timeoutMs: 60_000 });
  const facts = parseProbe(sys.stdout);
  progress('probe', 'running', 'python');
  const py = parsePythonFinder(
    (
      await ch.exec('sh -s', {
        stdin: pythonFinderScript(pythonCandidates(opts.python)),
        timeoutMs: 120_000,
      })
    ).stdout,
  );
  let check: RuntimeCheck | null = null;
  let runtimeDir: string | null = opts.runtimeDir ?? null;
  if (!py.python) {
    reasons.push({ level: 2, text: noTorchAdvice(node, py) });
  } else {
    const asked = opts.python.find(Boolean);
    if (asked && py.python !== asked)
      reasons.push({
        level: 1,
        text: `${asked} has no PyTorch here; ${py.python} (torch ${py.torch}) will be used`,
      });
    if (!runtimeDir && opts.bundle && facts.workdir) {
      progress('upload', 'running', `runtime ${opts.bundle.hash}`);
      try {
        const rt = await ensureRuntime(ch, opts.bundle, facts.workdir, (f) =>
          progress('upload', 'running', undefined, f),
        );
        runtimeDir = rt.dir;
        progress('upload', 'done', rt.uploaded ? 'uploaded' : 'already there');
      } catch (e) {
        progress('upload', 'failed', (e as Error).message);
        reasons.push({ level: 2, text: `cannot install the runtime: ${(e as Error).message}` });
      }
    }
    progress('probe', 'running', 'runtime check');
    if (runtimeDir) {
      const r = await ch.exec('sh -s', {
        stdin: `PYTHONPATH=${shq(posixJoin(runtimeDir, 'native'))} exec ${shq(py.python)} -m spindle check\n`,
        timeoutMs: 180_000,
      });
      check = parseRuntimeCheck(r.stdout);
      if (!check || r.code !== 0) {
        const why = (r.stderr || r.stdout).trim().split('\n').pop() ?? `exit ${r.code}`;
        reasons.push({
          level: check ? 1 : 2,
          text: `spindle check ${check ? 'reported a problem' : 'failed'}: ${why}`,
        });
      }
    }
    if (!check) {
      const r = await ch.exec('sh -s', {
        stdin: `exec ${shq(py.python)} -c ${shq(INLINE_CHECK)}\n`,
        timeoutMs: 180_000,
      });
      check = parseRuntimeCheck(r.stdout);
    }
  }
  if (facts.gpus.length > 0 && check && check.torch && check.cudaAvailable === false) {
    reasons.push({
      level: 1,
      text: `${facts.gpus.length} GPU(s) present but PyTorch ${check.torch} cannot use CUDA (a CPU-only build?)`,
    });
  }
  if (facts.diskFreeBytes !== null) {
    if (facts.diskFreeBytes < 1 * GB)
      reasons.push({
        level: 2,
        text: `only ${(facts.diskFreeBytes / GB).toFixed(2)} GB free in ${facts.workdir}`,
      });
    else if (facts.diskFreeBytes < 20 * GB)
      reasons.push({
        level: 1,
        text: `${(facts.diskFreeBytes / GB).toFixed(1)} GB free in ${facts.workdir}: checkpoints may not fit`,
      });
  }
  if (facts.gpus.length === 0)
    reasons.push({ level: 0, text: 'no NVIDIA GPU: CPU (gloo) runs only' });
  reasons.sort((a, b) => b.level - a.level);
  const worst = reasons.reduce((m, r) => Math.max(m, r.level), 0);
  const result: ProbeResult = {
    node,
    at: Date.now(),
    verdict: worst === 2 ? 'not_ready' : worst === 1 ? 'warning' : 'ready',
    reasons: reasons.map((r) => r.text),
    os: facts.os,
    hostname: facts.hostname,
    cpus: facts.cpus,
    memBytes: facts.memBytes,
    gpus: facts.gpus,
    python: check?.python ?? py.pythonVersion,
    torch: check?.torch ?? py.torch,
    cuda: check?.cuda ?? null,
    nccl: check?.nccl ?? null,
    diskFreeBytes: facts.diskFreeBytes,
    interfaces: groupByInterface(facts.addresses),
    reach: [],
  };
  progress('probe', 'done', result.verdict);
  return { result, facts, python: py, check, runtimeDir };
}

/** A probe that could not even connect. */
export function unreachableProbe(node: string, message: string): ProbeResult {
  return {
    node,
    at: Date.now(),
    verdict: 'not_ready',
    reasons: [message],
    os: null,
    hostname: null,
    cpus: null,
    memBytes: null,
    gpus: [],
    python: null,
    torch: null,
    cuda: null,
    nccl: null,
    diskFreeBytes: null,
    interfaces: [],
    reach: [],
  };
}
