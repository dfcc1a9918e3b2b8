// One host's runs: launch and dry run, the run index, watchers (one per run across processes,
// by lock), reattach after a restart, stop, and the event and log streams served from the local
// mirrors. The studio and `spindle serve` reattach to every unfinished run when they start; a
// CLI process watches only the runs it launches or attaches to.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { parseEventLine, type RunEvent } from '../../app/metrics/events';
import type { LaunchPlan, RunSummary } from '../../app/protocol/runs';
import type { HostContext } from '../host/context';
import { LocalChannel } from '../nodes/local';
import { nodeManagerFor, type NodeManager } from '../nodes/manager';
import { prepareLaunch, startPrepared, type LaunchParams, type Progress } from './launcher';
import { lockOwner, tryLock, unlock } from './lock';
import { FINAL_STATUSES, RunStore, type RunRecord } from './record';
import { lastLinesOf, readLinesFrom } from './tail';
import { RunWatcher } from './watcher';

export interface RunManagerOptions {
  pollMs?: number;
  graceMs?: number;
  unreachableMs?: number;
  /** Reattach to every unfinished run at start and whenever its watcher's process dies. */
  autoAttach?: boolean;
}

export interface LogLine {
  node: string;
  rank: number | null;
  line: string;
}

export class RunManager {
  readonly store: RunStore;
  private watchers = new Map<string, RunWatcher>();
  /** Runs this process wants watched (taken over when their owner goes). */
  private wanted = new Set<string>();
  /** Runs this process is starting: nobody watches them until their processes run. */
  private launching = new Set<string>();
  private emitter = new EventEmitter();
  private seen = new Map<string, number>();
  private ticker: NodeJS.Timeout;
  private disposed = false;

  constructor(
    private readonly ctx: HostContext,
    private readonly nodes: NodeManager,
    private readonly opts: RunManagerOptions = {},
  ) {
    this.store = new RunStore(ctx.dataDir);
    this.emitter.setMaxListeners(0);
    if (opts.autoAttach)
      for (const r of this.store.list())
        if (!FINAL_STATUSES.has(r.summary.status)) this.wanted.add(r.summary.id);
    this.ticker = setInterval(() => this.tick(), 1000);
    this.ticker.unref();
    this.tick();
  }

  /** Pick up changes other processes made, and take over runs whose watcher died. */
  private tick() {
    if (this.disposed) return;
    for (const id of this.store.ids()) {
      let mtime = 0;
      try {
        mtime = fs.statSync(this.store.recordFile(id)).mtimeMs;
      } catch {
        continue;
      }
      if (this.seen.get(id) !== mtime) {
        this.seen.set(id, mtime);
        const rec = this.safeRead(id);
        if (rec) {
          if (this.opts.autoAttach && !FINAL_STATUSES.has(rec.summary.status)) this.wanted.add(id);
          this.emitter.emit('change', rec);
        }
      }
    }
    for (const id of this.wanted) this.ensureWatcher(id);
  }

  private safeRead(id: string): RunRecord | null {
    try {
      return this.store.read(id);
    } catch {
      return null;
    }
  }

  private ensureWatcher(id: string): RunWatcher | null {
    const existing = this.watchers.get(id);
    if (existing) return existing;
    if (this.launching.has(id)) return null;
    const rec = this.safeRead(id);
    if (!rec || FINAL_STATUSES.has(rec.summary.status)) {
      this.wanted.delete(id);
      return null;
    }
    if (!tryLock(this.store.lockFile(id))) return null;
    // Re-read under the lock: the previous owner may have saved since.
    const fresh = this.safeRead(id) ?? rec;
    const w = new RunWatcher(fresh, {
      store: this.store,
      channel: (node, freshConn) =>
        node.spec
          ? this.nodes.connect(node.spec, { fresh: freshConn })
          : Promise.resolve(new LocalChannel()),
      onChange: (r) => {
        this.seen.set(id, this.mtime(id));
        this.emitter.emit('change', r);
      },
      // The poll is the event-to-chart latency: fast for local runs (a file read), and twice a
      // second over SSH (one exec on an open connection), to keep a point on the chart within 1 s.
      pollMs: this.opts.pollMs ?? (fresh.nodes.every((n) => !n.spec) ? 250 : 500),
      ...(this.opts.graceMs ? { graceMs: this.opts.graceMs } : {}),
      ...(this.opts.unreachableMs ? { unreachableMs: this.opts.unreachableMs } : {}),
    });
    this.watchers.set(id, w);
    w.done.then(() => {
      this.watchers.delete(id);
      this.wanted.delete(id);
      unlock(this.store.lockFile(id));
    });
    w.start();
    return w;
  }

  private mtime(id: string) {
    try {
      return fs.statSync(this.store.recordFile(id)).mtimeMs;
    } catch {
      return 0;
    }
  }

  list(): RunSummary[] {
    return this.store.list().map((r) => r.summary);
  }

  get(id: string): RunRecord {
    const r = this.safeRead(id);
    if (!r) throw new Error(`no run ${id}`);
    return r;
  }

  async dryRun(
    params: LaunchParams,
    progress: Progress = () => {},
    signal?: AbortSignal,
  ): Promise<LaunchPlan> {
    const p = await prepareLaunch(this.ctx, this.nodes, params, progress, {
      dryRun: true,
      ...(signal ? { signal } : {}),
    });
    const { scripts: _s, ...plan } = p.plan;
    return plan;
  }

  async launch(
    params: LaunchParams,
    progress: Progress = () => {},
    signal?: AbortSignal,
  ): Promise<RunSummary> {
    const p = await prepareLaunch(this.ctx, this.nodes, params, progress, {
      dryRun: false,
      ...(signal ? { signal } : {}),
    });
    const id = p.plan.runId;
    fs.mkdirSync(this.store.dir(id), { recursive: true });
    // Own the run before it exists, so no other host (nor this one's own reattach tick) watches
    // it halfway through the start, when its processes are not there yet.
    this.launching.add(id);
    tryLock(this.store.lockFile(id));
    try {
      const rec = await startPrepared(p, (r) => this.store.write(r), progress);
      this.launching.delete(id);
      this.wanted.add(id);
      this.ensureWatcher(id);
      this.emitter.emit('change', rec);
      return rec.summary;
    } catch (e) {
      this.launching.delete(id);
      unlock(this.store.lockFile(id));
      const rec = this.safeRead(id);
      if (rec) this.emitter.emit('change', rec);
      throw e;
    }
  }

  /** Watch a run from this process (the CLI's attach); resolves with its final summary. */
  attach(id: string): Promise<RunSummary> {
    const rec = this.get(id);
    if (FINAL_STATUSES.has(rec.summary.status)) return Promise.resolve(rec.summary);
    this.wanted.add(id);
    this.ensureWatcher(id);
    return this.waitFinal(id);
  }

  /** Resolves when the run reaches a final status, whoever watches it. */
  waitFinal(id: string): Promise<RunSummary> {
    return new Promise((resolve) => {
      const check = (r: RunRecord) => {
        if (
          r.summary.id === id &&
          FINAL_STATUSES.has(r.summary.status) &&
          r.summary.endedAt !== null
        ) {
          this.emitter.off('change', check);
          resolve(r.summary);
        }
      };
      this.emitter.on('change', check);
      const now = this.safeRead(id);
      if (now) check(now);
    });
  }

  async stop(id: string): Promise<RunSummary> {
    const rec = this.get(id);
    if (FINAL_STATUSES.has(rec.summary.status)) return rec.summary;
    const own = this.watchers.get(id) ?? (this.wanted.add(id), this.ensureWatcher(id));
    if (own) return own.requestStop();
    // Another process watches it: leave it a request and wait for the result.
    if (lockOwner(this.store.lockFile(id)) !== null)
      fs.writeFileSync(this.store.stopFile(id), String(process.pid));
    return this.waitFinal(id);
  }

  delete(id: string): boolean {
    const rec = this.safeRead(id);
    if (!rec) return false;
    if (!FINAL_STATUSES.has(rec.summary.status))
      throw new Error(`run ${id} is ${rec.summary.status}; stop it first`);
    this.store.remove(id);
    this.seen.delete(id);
    this.emitter.emit('removed', id);
    return true;
  }

  /** The whole index now and whenever a run changes. */
  onIndex(cb: (runs: RunSummary[]) => void): () => void {
    cb(this.list());
    let pending: NodeJS.Timeout | null = null;
    // Coalesce bursts (every watcher cycle saves) into one index event.
    const fire = () => {
      if (pending) return;
      pending = setTimeout(() => {
        pending = null;
        cb(this.list());
      }, 100);
    };
    this.emitter.on('change', fire);
    this.emitter.on('removed', fire);
    return () => {
      if (pending) clearTimeout(pending);
      this.emitter.off('change', fire);
      this.emitter.off('removed', fire);
    };
  }

  onChange(cb: (rec: RunRecord) => void): () => void {
    this.emitter.on('change', cb);
    return () => this.emitter.off('change', cb);
  }

  /** Events from index `from` on, then live ones (from the local mirror of events.jsonl). */
  streamEvents(
    id: string,
    from: number,
    emit: (e: { index: number; event: RunEvent }) => void,
  ): () => void {
    this.get(id);
    const file = this.store.eventsMirror(id);
    let offset = 0;
    let index = 0;
    let stopped = false;
    const pump = () => {
      if (stopped) return;
      for (;;) {
        const r = readLinesFrom(file, offset);
        if (r.lines.length === 0) break;
        offset = r.offset;
        for (const line of r.lines) {
          const i = index++;
          if (i < from) continue;
          const parsed = parseEventLine(line);
          if (parsed.ok) emit({ index: i, event: parsed.event });
        }
      }
    };
    pump();
    const onChange = (rec: RunRecord) => rec.summary.id === id && pump();
    this.emitter.on('change', onChange);
    const timer = setInterval(pump, 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
      this.emitter.off('change', onChange);
    };
  }

  /** Log lines of every node and rank: the last `tail` of each file, then live ones. */
  streamLogs(id: string, tail: number, emit: (lines: LogLine[]) => void): () => void {
    const rec = this.get(id);
    const offsets = new Map<string, number>();
    let stopped = false;
    const files = () => {
      const out: { file: string; node: string; rank: number | null }[] = [];
      for (const n of rec.nodes) {
        const dir = path.dirname(this.store.logMirror(id, n.nodeRank, 'logs/x'));
        let names: string[] = [];
        try {
          names = fs
            .readdirSync(dir)
            .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
        } catch {
          continue;
        }
        for (const f of names) {
          const m = /^rank-(\d+)\.log$/.exec(f);
          out.push({ file: path.join(dir, f), node: n.name, rank: m ? Number(m[1]) : null });
        }
      }
      return out;
    };
    const pump = () => {
      if (stopped) return;
      const batch: LogLine[] = [];
      for (const f of files()) {
        if (!offsets.has(f.file)) {
          const last = lastLinesOf(f.file, tail);
          offsets.set(f.file, last.end);
          for (const line of last.lines) batch.push({ node: f.node, rank: f.rank, line });
          continue;
        }
        const r = readLinesFrom(f.file, offsets.get(f.file)!);
        offsets.set(f.file, r.offset);
        for (const line of r.lines) batch.push({ node: f.node, rank: f.rank, line });
      }
      if (batch.length) emit(batch);
    };
    pump();
    const onChange = (r: RunRecord) => r.summary.id === id && pump();
    this.emitter.on('change', onChange);
    const timer = setInterval(pump, 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
      this.emitter.off('change', onChange);
    };
  }

  async dispose() {
    this.disposed = true;
    clearInterval(this.ticker);
    const ws = [...this.watchers.entries()];
    this.watchers.clear();
    await Promise.all(
      ws.map(async ([id, w]) => {
        await w.dispose();
        unlock(this.store.lockFile(id));
      }),
    );
    this.emitter.removeAllListeners();
  }
}

const managers = new WeakMap<HostContext, RunManager>();

function envMs(name: string): number | undefined {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v * 1000 : undefined;
}

export function runManagerFor(ctx: HostContext): RunManager {
  let m = managers.get(ctx);
  if (!m) {
    const grace = envMs('SPINDLE_STOP_GRACE_S');
    const unreachable = envMs('SPINDLE_UNREACHABLE_S');
    m = new RunManager(ctx, nodeManagerFor(ctx), {
      autoAttach: ctx.door !== 'cli',
      ...(grace ? { graceMs: grace } : {}),
      ...(unreachable ? { unreachableMs: unreachable } : {}),
    });
    managers.set(ctx, m);
  }
  return m;
}
