// From a run config to processes on nodes: parse, let the planner resolve "auto", connect,
// learn each node (home, Python with torch, addresses), put the runtime there, choose the
// rendezvous address, port and socket interfaces, test reachability, build the plan (app/launch),
// then write the run dir and start torchrun detached on every node. A dry run stops before any
// write or upload and returns the plan.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  buildLaunchPlan,
  chooseMasterAddress,
  expandHome,
  freePortScript,
  makeRunId,
  noTorchAdvice,
  parseProbe,
  parsePythonFinder,
  parseRouteGet,
  posixJoin,
  probeScript,
  pythonCandidates,
  pythonFinderScript,
  ranksOfNode,
  RUN_FILES,
  runDirOf,
  shq,
  signalScript,
  type PlanNode,
  type ProbeFacts,
  type PythonFinding,
} from '../../app/launch';
import {
  autoFields,
  normalizeConfig,
  parseConfigText,
  type NormalizedConfig,
  type RunConfig,
} from '../../app/config';
import { applyLayout, planConfig } from '../../app/planner';
import type { NodeSpec, ProgressEvent } from '../../app/protocol/nodes';
import type { LaunchPlan } from '../../app/protocol/runs';
import type { HostContext } from '../host/context';
import { LOCAL_NODE, LocalChannel } from '../nodes/local';
import type { NodeManager } from '../nodes/manager';
import { reachTest } from '../nodes/reach';
import { ensureRuntime } from '../provision/runtime';
import type { NodeChannel } from '../ssh/connection';
import { localPythonCandidates } from './python';
import type { RunNodeRecord, RunRecord } from './record';

export type Progress = (p: ProgressEvent) => void;

export interface LaunchParams {
  configYaml: string;
  target?: 'local' | string[];
}

export interface PreparedLaunch {
  plan: LaunchPlan & { scripts: string[] };
  config: NormalizedConfig;
  configYaml: string;
  nodes: (RunNodeRecord & { ch: NodeChannel })[];
}

export class LaunchError extends Error {}

/** Parse and validate, apply a target override, let the planner fill "auto" fields. */
export function resolveConfig(params: LaunchParams): {
  config: NormalizedConfig;
  warnings: string[];
} {
  const parsed = parseConfigText(params.configYaml);
  if (!parsed.ok)
    throw new LaunchError(
      parsed.issues
        .map((i) => `line ${i.line}:${i.column}: ${i.path ? i.path + ': ' : ''}${i.message}`)
        .join('\n'),
    );
  let config: RunConfig = parsed.config;
  if (params.target === 'local')
    config = { ...config, launch: { ...config.launch, target: 'local', hosts: [] } };
  else if (Array.isArray(params.target)) {
    if (params.target.length !== config.cluster.nodes)
      throw new LaunchError(
        `${params.target.length} node(s) given for a config with cluster.nodes ${config.cluster.nodes}`,
      );
    config = { ...config, launch: { ...config.launch, target: 'ssh', hosts: params.target } };
  }
  if (config.launch.target === 'local' && config.cluster.nodes !== 1) {
    throw new LaunchError(
      `the local target is one computer; this config has cluster.nodes ${config.cluster.nodes} (choose nodes to launch on)`,
    );
  }
  const warnings: string[] = [];
  const autos = autoFields(config);
  if (autos.length > 0) {
    const plan = planConfig(config);
    if (plan.best === null) {
      const why = [...new Set(plan.layouts.flatMap((l) => l.reasons))].slice(0, 3).join('; ');
      throw new LaunchError(
        `no layout fits (${autos.join(', ')} are "auto"): ${why || 'no candidates'}`,
      );
    }
    const best = plan.layouts[plan.best];
    config = applyLayout(config, best);
    warnings.push(
      `the planner chose ulysses ${best.ulysses} × ring ${best.ring} × dp ${best.dp}, ZeRO ${best.zero}, checkpointing ${best.checkpointing}` +
        `${best.offload.optimizer || best.offload.params || best.offload.activations ? ', with offload' : ''}, chunks ${best.chunks}`,
    );
  }
  return { config: normalizeConfig(config), warnings };
}

interface Discovered {
  facts: ProbeFacts;
  python: PythonFinding;
}

async function discover(
  ch: NodeChannel,
  name: string,
  workdir: string,
  candidates: string[],
): Promise<Discovered> {
  const sys = await ch.exec('sh -s', { stdin: probeScript(workdir), timeoutMs: 60_000 });
  const facts = parseProbe(sys.stdout);
  if (!facts.workdir)
    throw new LaunchError(
      `${name}: could not read the node's home and workdir (${sys.stderr.trim() || `exit ${sys.code}`})`,
    );
  const py = await ch.exec('sh -s', { stdin: pythonFinderScript(candidates), timeoutMs: 180_000 });
  const python = parsePythonFinder(py.stdout);
  if (!python.python) throw new LaunchError(noTorchAdvice(name, python));
  return { facts, python };
}

export async function prepareLaunch(
  ctx: HostContext,
  nodes: NodeManager,
  params: LaunchParams,
  progress: Progress,
  opts: { dryRun: boolean; signal?: AbortSignal },
): Promise<PreparedLaunch> {
  progress({ step: 'config', status: 'running' });
  const { config, warnings } = resolveConfig(params);
  progress({ step: 'config', status: 'done', detail: config.name });
  const runId = makeRunId(config.name, new Date(), crypto.randomBytes(3).toString('hex'));
  const local = config.launch.target === 'local';

  // Channels and per-node settings.
  type Target = {
    name: string;
    spec: NodeSpec | null;
    sshHost: string;
    /** For the rendezvous choice: null when a ProxyCommand reaches the node. */
    dialled: string | null;
    workdir: string;
    candidates: string[];
    ch: NodeChannel;
  };
  let targets: Target[];
  if (local) {
    // The default "~/.spindle" would be the user's home; the studio's own data dir keeps local
    // runs next to its index. An explicit workdir is honoured.
    const workdir =
      config.launch.workdir === '~/.spindle'
        ? path.join(ctx.dataDir, 'local')
        : expandHome(config.launch.workdir, os.homedir());
    targets = [
      {
        name: LOCAL_NODE,
        spec: null,
        sshHost: '127.0.0.1',
        dialled: '127.0.0.1',
        workdir,
        candidates: localPythonCandidates(config.launch.python),
        ch: new LocalChannel(),
      },
    ];
  } else {
    targets = await Promise.all(
      config.launch.hosts.map(async (host) => {
        const spec = nodes.spec(host);
        progress({ step: 'connect', node: host, status: 'running' });
        try {
          const ch = await nodes.connect(spec, opts.signal ? { signal: opts.signal } : {});
          progress({ step: 'connect', node: host, status: 'done' });
          return {
            name: host,
            spec,
            sshHost: nodes.sshHost(spec),
            dialled: nodes.dialledAddress(spec),
            workdir: spec.workdir ?? config.launch.workdir,
            candidates: pythonCandidates([spec.python, config.launch.python]),
            ch,
          };
        } catch (e) {
          progress({ step: 'connect', node: host, status: 'failed', detail: (e as Error).message });
          throw e;
        }
      }),
    );
    const names = new Set(targets.map((t) => `${t.sshHost}:${t.spec?.port}:${t.workdir}`));
    if (names.size < targets.length)
      warnings.push(
        'two nodes resolve to the same host and workdir: their runs would share one folder',
      );
  }

  // What each node is.
  const found = await Promise.all(
    targets.map(async (t) => {
      progress({ step: 'probe', node: t.name, status: 'running' });
      try {
        const d = await discover(t.ch, t.name, t.workdir, t.candidates);
        const asked = t.spec?.python ?? config.launch.python;
        if (d.python.python !== asked)
          warnings.push(
            `${t.name}: ${asked} has no PyTorch; using ${d.python.python} (torch ${d.python.torch})`,
          );
        progress({
          step: 'probe',
          node: t.name,
          status: 'done',
          detail: `python ${d.python.pythonVersion}, torch ${d.python.torch}`,
        });
        return d;
      } catch (e) {
        progress({ step: 'probe', node: t.name, status: 'failed', detail: (e as Error).message });
        throw e;
      }
    }),
  );

  // The runtime on each node.
  let bundleDirs: string[];
  if (local) {
    if (!fs.existsSync(path.join(ctx.resourcesDir, 'native', 'spindle')))
      throw new LaunchError(`no runtime: ${ctx.resourcesDir}/native/spindle is missing`);
    bundleDirs = [ctx.resourcesDir];
  } else {
    const bundle = nodes.bundle();
    if (!bundle)
      throw new LaunchError(`no runtime to upload: ${ctx.resourcesDir}/native/spindle is missing`);
    bundleDirs = await Promise.all(
      targets.map(async (t, i) => {
        const workdir = found[i].facts.workdir!;
        if (opts.dryRun) return posixJoin(workdir, 'runtime', bundle.hash);
        progress({
          step: 'upload',
          node: t.name,
          status: 'running',
          detail: `runtime ${bundle.hash}`,
        });
        const rt = await ensureRuntime(t.ch, bundle, workdir, (f) =>
          progress({ step: 'upload', node: t.name, status: 'running', fraction: f }),
        );
        progress({
          step: 'upload',
          node: t.name,
          status: rt.uploaded ? 'done' : 'skipped',
          detail: rt.uploaded ? `uploaded ${bundle.bytes} bytes` : 'already on the node',
        });
        return rt.dir;
      }),
    );
  }

  // Rendezvous address, interfaces and port.
  progress({ step: 'network', status: 'running' });
  const choice = chooseMasterAddress(
    targets.map((t, i) => ({
      name: t.name,
      sshHost: t.dialled,
      addresses: found[i].facts.addresses,
    })),
  );
  if (!choice.ok) throw new LaunchError(choice.reason);
  warnings.push(...choice.warnings);
  const loopback = found[0].facts.addresses.find((a) => a.address === '127.0.0.1')?.iface ?? 'lo';
  const ifaces: (string | null)[] = await Promise.all(
    targets.map(async (t, i) => {
      if (targets.length === 1) return loopback;
      if (i === 0) return choice.iface;
      const r = await t.ch.exec(`ip -o route get ${shq(choice.address)}`, { timeoutMs: 30_000 });
      const route = parseRouteGet(r.stdout);
      if (!route)
        throw new LaunchError(
          `${t.name} has no route to ${targets[0].name}'s ${choice.address}: ${r.stderr.trim() || r.stdout.trim()}`,
        );
      return route.dev;
    }),
  );
  let port: number;
  if (targets.length > 1 && !opts.dryRun) {
    const peers = targets.map((t, i) => ({
      name: t.name,
      ch: t.ch,
      python: found[i].python.python!,
    }));
    const outcome = await reachTest(peers[0], peers.slice(1), choice.address);
    const bad = outcome.results.filter((r) => !r.ok);
    if (bad.length)
      throw new LaunchError(
        bad
          .map(
            (b) =>
              `${b.from} cannot reach ${targets[0].name} at ${choice.address}:${outcome.port}: ${b.error}`,
          )
          .join('\n'),
      );
    port = outcome.port;
  } else {
    const r = await targets[0].ch.exec('sh -s', {
      stdin: freePortScript(found[0].python.python!),
      timeoutMs: 60_000,
    });
    port = Number(r.stdout.trim());
    if (!Number.isInteger(port) || port <= 0)
      throw new LaunchError(`${targets[0].name}: could not find a free port: ${r.stderr.trim()}`);
  }
  progress({ step: 'network', status: 'done', detail: `rendezvous ${choice.address}:${port}` });

  const planNodes: PlanNode[] = targets.map((t, i) => ({
    name: t.name,
    host: t.spec ? t.sshHost : 'localhost',
    workdir: found[i].facts.workdir!,
    python: found[i].python.python!,
    bundleDir: bundleDirs[i],
    iface: ifaces[i],
  }));
  const plan = buildLaunchPlan({
    runId,
    target: local ? 'local' : 'ssh',
    config,
    nodes: planNodes,
    masterAddr: choice.address,
    masterPort: port,
    warnings,
  });
  return {
    plan,
    config,
    configYaml: params.configYaml,
    nodes: targets.map((t, i) => ({
      nodeRank: i,
      name: t.name,
      spec: t.spec,
      runDir: runDirOf(planNodes[i].workdir, runId),
      ranks: ranksOfNode(i, config.cluster.gpus_per_node),
      ch: t.ch,
    })),
  };
}

/** Write every node's run dir and start it; returns the record with the run `starting`. */
export async function startPrepared(
  p: PreparedLaunch,
  save: (rec: RunRecord) => void,
  progress: Progress,
): Promise<RunRecord> {
  const { plan, config } = p;
  const { scripts, ...planOnly } = plan;
  const rec: RunRecord = {
    version: 1,
    summary: {
      id: plan.runId,
      name: config.name,
      target: plan.target === 'local' ? LOCAL_NODE : p.nodes.map((n) => n.name).join(', '),
      status: 'starting',
      startedAt: Date.now(),
      endedAt: null,
      lastStep: null,
      lastLoss: null,
      totalSteps: config.training.steps,
      error: null,
      configYaml: p.configYaml,
    },
    target: plan.target,
    nodes: p.nodes.map(({ ch: _ch, ...n }) => n),
    plan: planOnly,
    tails: {},
    nodeState: Object.fromEntries(
      p.nodes.map((n) => [
        n.nodeRank,
        { alive: true, exitCode: null, lastSeen: Date.now(), ended: false },
      ]),
    ),
    runEnd: null,
    stopRequested: false,
  };
  // On record before anything starts: a host that dies mid-launch still knows where to look.
  save(rec);
  const started: number[] = [];
  const results = await Promise.allSettled(
    p.nodes.map(async (n, i) => {
      progress({ step: 'start', node: n.name, status: 'running' });
      const mk = await n.ch.exec(`mkdir -p ${shq(posixJoin(n.runDir, 'logs'))}`, {
        timeoutMs: 30_000,
      });
      if (mk.code !== 0)
        throw new LaunchError(`${n.name}: cannot create ${n.runDir}: ${mk.stderr.trim()}`);
      await n.ch.writeFileAtomic(
        posixJoin(n.runDir, RUN_FILES.config),
        JSON.stringify(config, null, 2) + '\n',
      );
      await n.ch.writeFileAtomic(posixJoin(n.runDir, RUN_FILES.script), scripts[i]);
      const r = await n.ch.exec('sh -s', { stdin: scripts[i], timeoutMs: 60_000 });
      const pid = Number(r.stdout.trim().split('\n').pop());
      if (r.code !== 0 || !Number.isInteger(pid) || pid <= 1)
        throw new LaunchError(
          `${n.name}: start failed: ${r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`}`,
        );
      started.push(i);
      progress({ step: 'start', node: n.name, status: 'done', detail: `process group ${pid}` });
    }),
  );
  const failures = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`${p.nodes[i].name}: ${(r.reason as Error).message}`] : [],
  );
  if (failures.length > 0) {
    // Half a cluster cannot train: take down what did start.
    await Promise.all(
      started.map((i) =>
        p.nodes[i].ch
          .exec('sh -s', { stdin: signalScript(p.nodes[i].runDir, 'KILL') })
          .catch(() => undefined),
      ),
    );
    rec.summary.status = 'failed';
    rec.summary.error = failures.join('\n');
    rec.summary.endedAt = Date.now();
    for (const n of rec.nodes)
      rec.nodeState[n.nodeRank] = {
        alive: false,
        exitCode: null,
        lastSeen: Date.now(),
        ended: true,
      };
    save(rec);
    throw new LaunchError(rec.summary.error);
  }
  return rec;
}
