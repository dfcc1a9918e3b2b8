// Scripts the host runs on a node to learn about it (probe, Python with PyTorch, rendezvous
// reachability) and parsers for what they print. Pure strings in, facts out; the host executes
// them through `sh -s` on the node (or locally), whatever the node's login shell is.
import { parseIpAddr, type InterfaceAddress } from './address';
import { shq } from './shell';

/** Shell lines that set $W to a path, with a leading "~" expanded against the node's $HOME. */
function setPath(varName: string, p: string): string {
  return `${varName}=${shq(p)}; case "$${varName}" in "~") ${varName}="$HOME";; "~/"*) ${varName}="$HOME/\${${varName}#\\~/}";; esac`;
}

export function probeScript(workdir: string): string {
  return [
    setPath('W', workdir),
    'echo "@@os"; ( . /etc/os-release 2>/dev/null && echo "$PRETTY_NAME" ) || uname -sr',
    'echo "@@kernel"; uname -srm',
    'echo "@@hostname"; hostname 2>/dev/null || uname -n',
    'echo "@@cpus"; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN',
    'echo "@@mem"; grep MemTotal /proc/meminfo 2>/dev/null',
    'echo "@@home"; echo "$HOME"',
    'echo "@@workdir"; echo "$W"',
    'echo "@@gpus"; command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits 2>/dev/null',
    'echo "@@cudadriver"; command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi 2>/dev/null | grep -o "CUDA Version: [0-9.]*"',
    // The workdir may not exist yet: measure the nearest folder that does.
    'echo "@@disk"; d="$W"; while [ ! -d "$d" ] && [ "$d" != "/" ] && [ -n "$d" ]; do d=$(dirname "$d"); done; df -Pk "$d" 2>/dev/null | tail -1',
    'echo "@@ip"; ip -o addr show 2>/dev/null',
    'echo "@@end"',
    '',
  ].join('\n');
}

export interface ProbeFacts {
  os: string | null;
  hostname: string | null;
  cpus: number | null;
  memBytes: number | null;
  home: string | null;
  workdir: string | null;
  gpus: { name: string; memBytes: number; driver: string | null; cuda: string | null }[];
  diskFreeBytes: number | null;
  addresses: InterfaceAddress[];
}

function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let current: string | null = null;
  let buf: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^@@(\w+)$/.exec(line.trim());
    if (m) {
      if (current) out.set(current, buf.join('\n').trim());
      current = m[1];
      buf = [];
    } else buf.push(line);
  }
  if (current) out.set(current, buf.join('\n').trim());
  return out;
}

export function parseProbe(text: string): ProbeFacts {
  const s = sections(text);
  const str = (k: string) => (s.get(k) ? s.get(k)! : null);
  const cpus = Number(s.get('cpus'));
  const mem = /MemTotal:\s+(\d+)\s*kB/.exec(s.get('mem') ?? '');
  const cudaDriver = /CUDA Version:\s*([0-9.]+)/.exec(s.get('cudadriver') ?? '');
  const gpus = (s.get('gpus') ?? '')
    .split('\n')
    .map((l) => l.split(',').map((x) => x.trim()))
    .filter((f) => f.length >= 3 && f[0] !== '')
    .map(([name, mib, driver]) => ({
      name,
      memBytes: Number(mib) * 1024 * 1024 || 0,
      driver: driver || null,
      cuda: cudaDriver ? cudaDriver[1] : null,
    }));
  const df = (s.get('disk') ?? '').split(/\s+/);
  const avail = df.length >= 4 ? Number(df[3]) : NaN;
  return {
    os: str('os'),
    hostname: str('hostname'),
    cpus: Number.isFinite(cpus) && cpus > 0 ? cpus : null,
    memBytes: mem ? Number(mem[1]) * 1024 : null,
    home: str('home'),
    workdir: str('workdir'),
    gpus,
    diskFreeBytes: Number.isFinite(avail) ? avail * 1024 : null,
    addresses: parseIpAddr(s.get('ip') ?? ''),
  };
}

/** Pythons to try on a node, in order: the one asked for first, then the usual places. */
export function pythonCandidates(preferred: (string | undefined)[]): string[] {
  return [
    ...new Set([
      ...preferred.filter((p): p is string => !!p),
      'python3',
      '/usr/bin/python3',
      '/usr/local/bin/python3',
      'python',
    ]),
  ];
}

/** The oldest torch the runtime supports (native/spindle/check.py says the same). */
export const MIN_TORCH = '2.4';

/** Whether a torch version string ("2.11.0+cu130", "1.13.0a0") is one the runtime supports. */
export function torchSupported(version: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const [wantMajor, wantMinor] = MIN_TORCH.split('.').map(Number);
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/** Tries each candidate; prints "py <candidate> <python version> <torch version|->" for each and
 *  stops at the first whose torch the runtime supports (an older one is reported, and skipped). */
export function pythonFinderScript(candidates: string[]): string {
  const probe = [
    'import sys',
    'try:',
    '    import torch',
    '    t = torch.__version__',
    'except Exception:',
    '    t = "-"',
    'print(sys.version.split()[0], t)',
  ].join('\n');
  const supported = MIN_TORCH.split('.').map(Number);
  return [
    `PROBE=${shq(probe)}`,
    'for c in ' + candidates.map(shq).join(' ') + '; do',
    '  command -v "$c" >/dev/null 2>&1 || { echo "py $c missing"; continue; }',
    '  r=$("$c" -c "$PROBE" 2>/dev/null) || { echo "py $c broken"; continue; }',
    '  echo "py $c $r"',
    // torch's major.minor from "3.11.2 2.11.0+cu130"; stop at the first supported one.
    '  t=${r#* }; maj=${t%%.*}; rest=${t#*.}; min=${rest%%[!0-9]*}',
    '  case "$maj" in ""|*[!0-9]*) continue;; esac',
    `  if [ "$maj" -gt ${supported[0]} ] || { [ "$maj" -eq ${supported[0]} ] && [ "\${min:-0}" -ge ${supported[1]} ]; }; then exit 0; fi`,
    'done',
    '',
  ].join('\n');
}

export interface PythonFinding {
  /** First candidate whose torch the runtime supports. */
  python: string | null;
  pythonVersion: string | null;
  torch: string | null;
  /** What each tried candidate turned out to be, for messages. */
  tried: {
    candidate: string;
    state: 'missing' | 'broken' | 'no-torch' | 'old-torch' | 'ok';
    version?: string;
    torch?: string;
  }[];
}

export function parsePythonFinder(text: string): PythonFinding {
  const f: PythonFinding = { python: null, pythonVersion: null, torch: null, tried: [] };
  for (const line of text.split('\n')) {
    const m = /^py (\S+) (\S+)(?: (\S+))?$/.exec(line.trim());
    if (!m) continue;
    const [, candidate, a, b] = m;
    if (a === 'missing' || a === 'broken') f.tried.push({ candidate, state: a });
    else if (b === '-' || b === undefined)
      f.tried.push({ candidate, state: 'no-torch', version: a });
    else if (!torchSupported(b))
      f.tried.push({ candidate, state: 'old-torch', version: a, torch: b });
    else {
      f.tried.push({ candidate, state: 'ok', version: a, torch: b });
      if (!f.python) Object.assign(f, { python: candidate, pythonVersion: a, torch: b });
    }
  }
  return f;
}

/** What to tell the user when no Python on a node has a torch the runtime supports. */
export function noTorchAdvice(node: string, f: PythonFinding): string {
  const withPython = f.tried.find((t) => t.state === 'no-torch' || t.state === 'old-torch');
  const list = f.tried
    .map(
      (t) =>
        `${t.candidate}: ${
          t.state === 'no-torch'
            ? `Python ${t.version} without torch`
            : t.state === 'old-torch'
              ? `torch ${t.torch}, older than the runtime supports (>= ${MIN_TORCH})`
              : t.state
        }`,
    )
    .join('; ');
  return withPython
    ? `${node}: no Python with PyTorch >= ${MIN_TORCH} (${list}). Install it there, e.g. \`${withPython.candidate} -m pip install 'torch>=${MIN_TORCH}'\`, or set the node's python to one that has it.`
    : `${node}: no Python found (${list}). Install Python 3 and PyTorch >= ${MIN_TORCH} there, or set the node's python.`;
}

/** Versions as the runtime reports them (python -m spindle check) or the inline fallback. */
export interface RuntimeCheck {
  python: string | null;
  torch: string | null;
  cuda: string | null;
  nccl: string | null;
  cudaAvailable: boolean | null;
  raw: Record<string, unknown>;
}

/** Facts the runtime check reports, gathered inline when the runtime is not on the node. */
export const INLINE_CHECK = `import json, platform
d = {"python": platform.python_version(), "torch": None, "cuda": None, "nccl": None, "cuda_available": None}
try:
    import torch
    d["torch"] = torch.__version__
    d["cuda"] = torch.version.cuda
    d["cuda_available"] = bool(torch.cuda.is_available())
    try:
        v = torch.cuda.nccl.version() if d["cuda_available"] else None
        d["nccl"] = ".".join(str(x) for x in v) if isinstance(v, tuple) else (str(v) if v else None)
    except Exception:
        pass
except Exception as e:
    d["error"] = str(e)
print(json.dumps(d))
`;

function pick(o: Record<string, unknown>, ...keys: string[]): unknown {
  for (const k of keys) {
    if (o[k] !== undefined) return o[k];
    const nested = o.versions as Record<string, unknown> | undefined;
    if (nested && typeof nested === 'object' && nested[k] !== undefined) return nested[k];
  }
  return undefined;
}

const asStr = (v: unknown): string | null =>
  v === null || v === undefined || v === false
    ? null
    : typeof v === 'object'
      ? JSON.stringify(v)
      : String(v);

/** The last JSON object line in the output of `spindle check` (or INLINE_CHECK). */
export function parseRuntimeCheck(stdout: string): RuntimeCheck | null {
  const lines = stdout.trim().split('\n').reverse();
  let raw: Record<string, unknown> | null = null;
  for (const l of lines) {
    const t = l.trim();
    if (!t.startsWith('{')) continue;
    try {
      raw = JSON.parse(t) as Record<string, unknown>;
      break;
    } catch {
      /* keep looking */
    }
  }
  if (!raw) {
    try {
      raw = JSON.parse(stdout) as Record<string, unknown>;
    } catch {
      return null;
    }
  }
  const cudaAvail = pick(raw, 'cuda_available', 'cudaAvailable');
  return {
    python: asStr(pick(raw, 'python')),
    torch: asStr(pick(raw, 'torch')),
    cuda: asStr(pick(raw, 'cuda')),
    nccl: asStr(pick(raw, 'nccl')),
    cudaAvailable: typeof cudaAvail === 'boolean' ? cudaAvail : null,
    raw,
  };
}

/**
 * A listener on node 0 for the reachability test: binds the port (0: a free one), prints
 * "port N", then accepts until `expect` peers connected or the deadline passed, and prints each
 * peer's address. It binds every interface, so the test exercises the route, not the bind.
 */
export function listenerScript(
  python: string,
  port: number,
  expect: number,
  timeoutS: number,
): string {
  const code = `import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", ${port}))
s.listen(64)
print("port", s.getsockname()[1], flush=True)
deadline = time.time() + ${timeoutS}
n = 0
while n < ${expect} and time.time() < deadline:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        c, a = s.accept()
    except socket.timeout:
        break
    print("peer", a[0], flush=True)
    c.close()
    n += 1
s.close()
`;
  return `exec ${shq(python)} -c ${shq(code)}\n`;
}

/** Try to open a TCP connection to addr:port from a node; prints "reach ok" or "reach fail <why>". */
export function connectScript(
  python: string,
  addr: string,
  port: number,
  timeoutS: number,
): string {
  const code = `import socket, sys
try:
    socket.create_connection((${JSON.stringify(addr)}, ${port}), timeout=${timeoutS}).close()
    print("reach ok")
except Exception as e:
    print("reach fail", e)
`;
  return `exec ${shq(python)} -c ${shq(code)}\n`;
}

export function parseReach(stdout: string): { ok: boolean; error?: string } {
  const m = /^reach (ok|fail)(?: (.*))?$/m.exec(stdout);
  if (!m) return { ok: false, error: stdout.trim() || 'no answer from the reachability test' };
  return m[1] === 'ok' ? { ok: true } : { ok: false, error: m[2] ?? 'failed' };
}

/** A free port on a node (the rendezvous port when no reachability test is run). */
export function freePortScript(python: string): string {
  return `exec ${shq(python)} -c ${shq('import socket\ns = socket.socket()\ns.bind(("", 0))\nprint(s.getsockname()[1])')}\n`;
}
