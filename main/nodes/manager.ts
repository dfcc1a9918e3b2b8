// One host's nodes: the stored list, resolution through ~/.ssh/config, a pool of live SSH
// connections (shared by probes, launches, watchers and terminals), connection tests and probes.
import fs from 'node:fs';
import path from 'node:path';
import { chooseMasterAddress } from '../../app/launch';
import {
  NodeSpec,
  type NodeEntry,
  type ProbeResult,
  type ProgressEvent,
} from '../../app/protocol/nodes';
import type { HostContext } from '../host/context';
import { buildBundle, type Bundle } from '../provision/bundle';
import { connectChain, type NodeChannel, type SshConnection } from '../ssh/connection';
import { promptBrokerFor, type PromptBroker } from '../ssh/prompt-broker';
import {
  expandTilde,
  listSshAliases,
  readSshConfig,
  resolveSshHost,
  sshPaths,
} from '../ssh/ssh-config';
import { probeNode, unreachableProbe, type ProbeDetail } from './probe';
import { reachTest } from './reach';
import { LOCAL_NODE, LocalChannel } from './local';
import { hopsForSpec, parseJumpSpec, type ResolveContext } from './resolve';
import { NodeStore } from './store';

const IDLE_CLOSE_MS = 120_000;

export interface ProbeStreamEvent {
  type: 'progress' | 'result' | 'cluster' | 'done';
  progress?: ProgressEvent;
  result?: ProbeResult;
  warnings?: string[];
}

export class NodeManager {
  readonly store: NodeStore;
  private pool = new Map<string, { conn: Promise<SshConnection>; lastUsed: number }>();
  private sweeper: NodeJS.Timeout;

  constructor(
    private readonly ctx: HostContext,
    readonly broker: PromptBroker,
  ) {
    this.store = new NodeStore(ctx.dataDir);
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
  }

  private resolveContext(): ResolveContext {
    const sshConfig = readSshConfig(sshPaths().config);
    const nodes = this.store.list();
    return { sshConfig, findNode: (n) => nodes.find((x) => x.name === n) };
  }

  /** A node by name: the node list, else an ~/.ssh/config alias, else a literal [user@]host[:port]. */
  spec(name: string): NodeSpec {
    const stored = this.store.get(name);
    if (stored) {
      const { lastProbe: _ignored, ...spec } = stored;
      return spec;
    }
    const blocks = readSshConfig(sshPaths().config);
    if (listSshAliases(blocks).includes(name)) return NodeSpec.parse({ name, host: name });
    const lit = parseJumpSpec(name);
    const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
    if (!lit.host) throw new Error(`unknown node ${name}`);
    return NodeSpec.parse({
      name: safe,
      host: lit.host,
      ...(lit.port ? { port: lit.port } : {}),
      ...(lit.user ? { user: lit.user } : {}),
    });
  }

  /** The address this computer dials for a node (after ssh config), for messages. */
  sshHost(spec: NodeSpec): string {
    const hops = hopsForSpec(spec, this.resolveContext());
    return hops[hops.length - 1].host;
  }

  /** The same, for choosing a rendezvous address: null when a ProxyCommand reaches the node. */
  dialledAddress(spec: NodeSpec): string | null {
    const hops = hopsForSpec(spec, this.resolveContext());
    const last = hops[hops.length - 1];
    return last.proxyCommand ? null : last.host;
  }

  private key(spec: NodeSpec) {
    return JSON.stringify([
      spec.name,
      spec.host,
      spec.port,
      spec.user,
      spec.identityFile,
      spec.proxyJump,
    ]);
  }

  /** A live connection to a node, reused while it stays open. */
  async connect(
    spec: NodeSpec,
    opts: { signal?: AbortSignal; fresh?: boolean } = {},
  ): Promise<SshConnection> {
    const key = this.key(spec);
    const cached = this.pool.get(key);
    if (cached && !opts.fresh) {
      const c = await cached.conn.catch(() => null);
      if (c && !c.closed && c.stillTrusted()) {
        cached.lastUsed = Date.now();
        return c;
      }
      if (this.pool.get(key) === cached) this.pool.delete(key);
      // known_hosts no longer vouches for its keys: drop it; the new connection asks or refuses.
      c?.close();
    } else if (cached && opts.fresh) {
      this.pool.delete(key);
      cached.conn.then((c) => c.close()).catch(() => undefined);
    }
    const hops = hopsForSpec(spec, this.resolveContext());
    const conn = connectChain(hops, {
      knownHostsFile: sshPaths().knownHosts,
      asker: this.broker,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const entry = { conn, lastUsed: Date.now() };
    this.pool.set(key, entry);
    conn.then(
      (c) => c.onClose(() => this.pool.get(key) === entry && this.pool.delete(key)),
      () => this.pool.get(key) === entry && this.pool.delete(key),
    );
    return conn;
  }

  async channel(
    name: string,
    opts: { signal?: AbortSignal; fresh?: boolean } = {},
  ): Promise<NodeChannel> {
    return this.connect(this.spec(name), opts);
  }

  private sweep() {
    const now = Date.now();
    for (const [key, e] of this.pool) {
      if (now - e.lastUsed > IDLE_CLOSE_MS) {
        this.pool.delete(key);
        e.conn.then((c) => c.close()).catch(() => undefined);
      }
    }
  }

  /** The runtime bundle, or null when this computer has no native/spindle (nothing to upload). */
  bundle(): Bundle | null {
    if (!fs.existsSync(path.join(this.ctx.resourcesDir, 'native', 'spindle'))) return null;
    return buildBundle(this.ctx.resourcesDir, path.join(this.ctx.dataDir, 'bundles'));
  }

  async test(spec: NodeSpec, signal?: AbortSignal): Promise<{ ok: boolean; message: string }> {
    try {
      const conn = await this.connect(spec, { fresh: true, ...(signal ? { signal } : {}) });
      const r = await conn.exec('echo "$(whoami)@$(hostname)"', { timeoutMs: 30_000 });
      if (r.code !== 0)
        return { ok: false, message: `connected, but a command failed: ${r.stderr.trim()}` };
      return { ok: true, message: `connected as ${r.stdout.trim()}` };
    } catch (e) {
      return { ok: false, message: (e as Error).message };
    }
  }

  async add(spec: NodeSpec, test: boolean, signal?: AbortSignal): Promise<NodeEntry> {
    if (this.store.get(spec.name)) throw new Error(`a node named ${spec.name} already exists`);
    if (test) {
      const t = await this.test(spec, signal);
      if (!t.ok) throw new Error(t.message);
    }
    return this.store.put(spec);
  }

  sshConfigHosts(file?: string) {
    const blocks = readSshConfig(file ? expandTilde(file) : sshPaths().config);
    return listSshAliases(blocks).map((alias) => {
      const r = resolveSshHost(blocks, alias);
      return {
        alias,
        host: r.hostName,
        port: r.port,
        ...(r.user ? { user: r.user } : {}),
        ...(r.identityFiles[0] ? { identityFile: r.identityFiles[0] } : {}),
        ...(r.proxyJump ? { proxyJump: r.proxyJump } : {}),
        ...(r.proxyCommand ? { proxyCommand: r.proxyCommand } : {}),
      };
    });
  }

  /**
   * Import aliases as nodes: the resolved host, port, user, first IdentityFile and ProxyJump. A host
   * reached by ProxyCommand keeps its alias as the node's host, so the command is read from the
   * ssh config at each connection and never copied into the node list; that needs it to be in the
   * config this computer connects with.
   */
  import(aliases: string[], file?: string, cluster?: string): NodeEntry[] {
    const hosts = this.sshConfigHosts(file);
    const own = path.resolve(sshPaths().config);
    const fromOwn = !file || path.resolve(expandTilde(file)) === own;
    for (const alias of aliases) {
      const h = hosts.find((x) => x.alias === alias);
      if (!h) throw new Error(`${alias} is not a Host in ${file ?? own}`);
      if (h.proxyCommand && !fromOwn)
        throw new Error(
          `${alias} is reached by a ProxyCommand, which Spindle runs only from ${own}: add the Host there and import it from that file`,
        );
    }
    return aliases.map((alias) => {
      const h = hosts.find((x) => x.alias === alias)!;
      const spec = NodeSpec.parse({
        name: alias.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64),
        host: h.proxyCommand ? alias : h.host,
        port: h.port,
        ...(h.user ? { user: h.user } : {}),
        ...(h.identityFile ? { identityFile: h.identityFile } : {}),
        ...(h.proxyJump ? { proxyJump: h.proxyJump } : {}),
        ...(cluster ? { cluster } : {}),
      });
      return this.store.put(spec);
    });
  }

  /** Probe nodes (in parallel); a cluster probe adds rendezvous reachability and consistency checks. */
  async probe(
    names: string[],
    cluster: boolean,
    emit: (e: ProbeStreamEvent) => void,
    signal?: AbortSignal,
  ): Promise<ProbeResult[]> {
    let bundle: Bundle | null = null;
    try {
      bundle = this.bundle();
    } catch (e) {
      emit({
        type: 'progress',
        progress: { step: 'bundle', status: 'failed', detail: (e as Error).message },
      });
    }
    const details: (ProbeDetail | null)[] = [];
    const results: ProbeResult[] = await Promise.all(
      names.map(async (name, i) => {
        const progress = (p: ProgressEvent) => emit({ type: 'progress', progress: p });
        let spec: NodeSpec;
        try {
          if (name === LOCAL_NODE) {
            // "This computer" as the local target uses it: its data dir's workdir, SPINDLE_PYTHON first.
            const d = await probeNode(new LocalChannel(), {
              node: name,
              workdir: path.join(this.ctx.dataDir, 'local'),
              python: [process.env.SPINDLE_PYTHON || undefined],
              bundle: null,
              progress,
              ...(fs.existsSync(path.join(this.ctx.resourcesDir, 'native', 'spindle'))
                ? { runtimeDir: this.ctx.resourcesDir }
                : {}),
            });
            details[i] = d;
            return d.result;
          }
          spec = this.spec(name);
          progress({ step: 'connect', node: name, status: 'running' });
          const ch = await this.connect(spec, signal ? { signal } : {});
          progress({ step: 'connect', node: name, status: 'done' });
          const d = await probeNode(ch, {
            node: name,
            workdir: spec.workdir ?? '~/.spindle',
            python: [spec.python],
            bundle,
            progress,
          });
          details[i] = d;
          return d.result;
        } catch (e) {
          progress({ step: 'connect', node: name, status: 'failed', detail: (e as Error).message });
          details[i] = null;
          return unreachableProbe(name, (e as Error).message);
        }
      }),
    );
    if (cluster && names.length > 1) {
      const warnings = await this.clusterChecks(names, details, results);
      emit({ type: 'cluster', warnings });
    }
    for (const r of results) {
      if (this.store.get(r.node)) this.store.setProbe(r.node, r);
      emit({ type: 'result', result: r });
    }
    emit({ type: 'done' });
    return results;
  }

  private async clusterChecks(
    names: string[],
    details: (ProbeDetail | null)[],
    results: ProbeResult[],
  ): Promise<string[]> {
    const warnings: string[] = [];
    const versions = (k: 'torch' | 'python' | 'cuda') =>
      new Set(results.filter((r) => r[k]).map((r) => r[k]));
    for (const k of ['torch', 'python', 'cuda'] as const) {
      if (versions(k).size > 1)
        warnings.push(
          `${k} versions differ across nodes: ${results.map((r) => `${r.node} ${r[k] ?? '?'}`).join(', ')}`,
        );
    }
    const gpuNames = new Set(results.map((r) => r.gpus.map((g) => g.name).join('+')));
    if (gpuNames.size > 1)
      warnings.push(
        `GPUs differ across nodes: ${results.map((r) => `${r.node}: ${r.gpus.length ? r.gpus.map((g) => g.name).join(', ') : 'none'}`).join('; ')}`,
      );
    if (names.includes(LOCAL_NODE)) {
      warnings.push('this computer runs single-node only; reachability not tested');
      return warnings;
    }
    if (details.some((d) => !d || !d.python.python)) {
      warnings.push(
        'rendezvous reachability not tested: some nodes are unreachable or have no Python with PyTorch',
      );
      return warnings;
    }
    const ds = details as ProbeDetail[];
    const choice = chooseMasterAddress(
      ds.map((d, i) => ({
        name: names[i],
        sshHost: this.dialledAddress(this.spec(names[i])),
        addresses: d.facts.addresses,
      })),
    );
    if (!choice.ok) {
      warnings.push(choice.reason);
      for (const r of results.slice(1)) {
        r.reach = [{ to: names[0], address: '', port: 0, ok: false, error: choice.reason }];
        r.verdict = 'not_ready';
        r.reasons.unshift(choice.reason);
      }
      return warnings;
    }
    warnings.push(...choice.warnings);
    const peers = await Promise.all(
      names.map(async (n, i) => ({
        name: n,
        ch: await this.channel(n),
        python: ds[i].python.python!,
      })),
    );
    try {
      const outcome = await reachTest(peers[0], peers.slice(1), choice.address);
      for (const r of outcome.results) {
        const res = results.find((x) => x.node === r.from)!;
        res.reach = [
          {
            to: names[0],
            address: choice.address,
            port: outcome.port,
            ok: r.ok,
            ...(r.error ? { error: r.error } : {}),
          },
        ];
        if (!r.ok) {
          res.verdict = 'not_ready';
          res.reasons.unshift(
            `cannot reach ${names[0]}'s rendezvous at ${choice.address}:${outcome.port}: ${r.error}`,
          );
        }
      }
    } catch (e) {
      warnings.push(`reachability test failed: ${(e as Error).message}`);
    }
    return warnings;
  }

  dispose() {
    clearInterval(this.sweeper);
    for (const e of this.pool.values()) e.conn.then((c) => c.close()).catch(() => undefined);
    this.pool.clear();
  }
}

const managers = new WeakMap<HostContext, NodeManager>();

export function nodeManagerFor(ctx: HostContext): NodeManager {
  let m = managers.get(ctx);
  if (!m) {
    m = new NodeManager(ctx, promptBrokerFor(ctx));
    managers.set(ctx, m);
  }
  return m;
}
