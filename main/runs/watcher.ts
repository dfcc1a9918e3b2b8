// Watching one run: every second, each node's status (process group alive, torchrun's exit code,
// file sizes) and the new bytes of events.jsonl and the logs, mirrored locally by offset. A node
// that drops is redialled with backoff and resumes at its offsets. When a node fails (non-zero
// exit, processes gone without an exit status, unreachable too long) the others are stopped and
// the run is marked failed with the failing rank's last lines. Stop: TERM to every node's process
// group, KILL after a grace period, then a check that nothing is left.
import {
  describeNodeFailure,
  leftoverScript,
  parseStatus,
  posixJoin,
  RUN_FILES,
  signalScript,
  statusScript,
} from '../../app/launch';
import { parseEventLine } from '../../app/metrics/events';
import type { RunSummary } from '../../app/protocol/runs';
import type { NodeChannel } from '../ssh/connection';
import {
  FINAL_STATUSES,
  type RunNodeRecord,
  type RunRecord,
  type RunStore,
  type TailState,
} from './record';
import { lastLinesOf, Mirror, splitComplete } from './tail';
import fs from 'node:fs';

export interface WatcherOptions {
  store: RunStore;
  /** A channel to a node of the run; `fresh` after a failure, to redial rather than reuse. */
  channel(node: RunNodeRecord, fresh: boolean): Promise<NodeChannel>;
  /** Called whenever the record or a mirror changed. */
  onChange(rec: RunRecord): void;
  pollMs?: number;
  /** TERM → KILL grace period. */
  graceMs?: number;
  /** A node unreachable this long fails the run. */
  unreachableMs?: number;
}

const READ_MAX = 1024 * 1024;

/** Files a node's watcher tails, relative to the run dir. */
export function tailedFiles(node: RunNodeRecord): string[] {
  return [
    ...(node.nodeRank === 0 ? [RUN_FILES.events] : []),
    RUN_FILES.nodeLog(node.nodeRank),
    ...node.ranks.map((r) => RUN_FILES.rankLog(r)),
  ];
}

export class RunWatcher {
  private rec: RunRecord;
  private disposed = false;
  private timer: NodeJS.Timeout | null = null;
  private backoff = new Map<
    number,
    { until: number; delay: number; fresh: boolean; error: string }
  >();
  private lastSaved = '';
  private cycling: Promise<void> | null = null;
  private resolveDone!: (s: RunSummary) => void;
  readonly done: Promise<RunSummary>;
  private readonly pollMs: number;
  private readonly graceMs: number;
  private readonly unreachableMs: number;

  constructor(
    rec: RunRecord,
    private readonly opts: WatcherOptions,
  ) {
    this.rec = rec;
    this.pollMs = opts.pollMs ?? 1000;
    this.graceMs = opts.graceMs ?? 10_000;
    this.unreachableMs = opts.unreachableMs ?? 90_000;
    this.done = new Promise((r) => (this.resolveDone = r));
    // Resume exactly where the last saved state left off: cut mirrors back to the recorded sizes.
    for (const node of rec.nodes) {
      for (const f of tailedFiles(node)) {
        const t = this.tail(node, f);
        this.mirror(node, f).truncate(t.mirrorBytes);
      }
      // Time the host was down does not count as the node being unreachable.
      const s = rec.nodeState[node.nodeRank];
      if (s) s.lastSeen = Date.now();
    }
    this.lastSaved = JSON.stringify(rec);
  }

  get record(): RunRecord {
    return this.rec;
  }

  start() {
    this.schedule(0);
  }

  private schedule(ms: number) {
    if (this.disposed) return;
    this.timer = setTimeout(() => {
      this.cycling = this.cycle()
        .catch((e) => {
          this.rec.summary.error ??= `watcher: ${(e as Error).message}`;
        })
        .finally(() => {
          this.cycling = null;
          if (!FINAL_STATUSES.has(this.rec.summary.status) || this.rec.summary.endedAt === null)
            this.schedule(this.pollMs);
        });
    }, ms);
  }

  /** Ask for a stop; resolves with the final summary. */
  requestStop(): Promise<RunSummary> {
    if (!FINAL_STATUSES.has(this.rec.summary.status)) this.rec.stopRequested = true;
    return this.done;
  }

  /** Stop watching (host shutdown). The run itself goes on; the next host reattaches. */
  async dispose() {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.cycling?.catch(() => undefined);
    this.save();
  }

  private tail(node: RunNodeRecord, file: string): TailState {
    const key = `${node.nodeRank}/${file}`;
    return (this.rec.tails[key] ??= { offset: 0, mirrorBytes: 0, lines: 0 });
  }

  private mirror(node: RunNodeRecord, file: string): Mirror {
    return new Mirror(
      file === RUN_FILES.events
        ? this.opts.store.eventsMirror(this.rec.summary.id)
        : this.opts.store.logMirror(this.rec.summary.id, node.nodeRank, file),
    );
  }

  private save() {
    const json = JSON.stringify(this.rec);
    if (json === this.lastSaved) return;
    this.lastSaved = json;
    this.opts.store.write(this.rec);
    this.opts.onChange(this.rec);
  }

  private async channelFor(node: RunNodeRecord): Promise<NodeChannel> {
    const b = this.backoff.get(node.nodeRank);
    return this.opts.channel(node, b?.fresh ?? false);
  }

  private onEventLines(lines: string[]) {
    const s = this.rec.summary;
    for (const line of lines) {
      const r = parseEventLine(line);
      if (!r.ok) continue;
      const e = r.event;
      if (e.type === 'step') {
        s.lastStep = e.step;
        s.lastLoss = e.loss;
      } else if (e.type === 'run_end') {
        this.rec.runEnd = e.status;
      } else if (e.type === 'run_start' && s.status === 'starting') {
        s.status = 'running';
      }
    }
  }

  /**
   * One node: status, then every tailed file from its offset (once its processes are gone, a last
   * line without newline counts as complete). Errors mark the node for redial with backoff.
   */
  private async pollNode(node: RunNodeRecord): Promise<boolean> {
    const b = this.backoff.get(node.nodeRank);
    if (b && Date.now() < b.until) return false;
    const state = (this.rec.nodeState[node.nodeRank] ??= {
      alive: true,
      exitCode: null,
      lastSeen: Date.now(),
      ended: false,
    });
    try {
      const ch = await this.channelFor(node);
      const files = tailedFiles(node);
      const res = await ch.exec('sh -s', {
        stdin: statusScript(node.runDir, files),
        timeoutMs: 30_000,
      });
      const st = parseStatus(res.stdout);
      // A status cut short (the connection dropped mid-answer) is a poll error, not a verdict.
      if (res.code !== 0 || !st.complete)
        throw new Error(`status check cut short (exit ${res.code ?? res.signal ?? 'none'})`);
      state.lastSeen = Date.now();
      state.alive = st.alive;
      state.exitCode = st.exitCode;
      state.ended = st.missing || !st.alive;
      for (const f of files) {
        const size = st.sizes[f];
        if (size === undefined) continue;
        const t = this.tail(node, f);
        const mirror = this.mirror(node, f);
        while (t.offset < size) {
          const chunk = await ch.readFrom(posixJoin(node.runDir, f), t.offset, READ_MAX);
          if (!chunk || chunk.length === 0) break;
          const split = splitComplete(chunk, {
            final: state.ended && t.offset + chunk.length >= size,
            full: chunk.length === READ_MAX,
          });
          if (split.consumed === 0) break;
          const bytes = mirror.append(split.lines);
          t.offset += split.consumed;
          t.mirrorBytes += bytes;
          t.lines += split.lines.length;
          if (f === RUN_FILES.events) this.onEventLines(split.lines);
        }
      }
      this.backoff.delete(node.nodeRank);
      return true;
    } catch (e) {
      const prev = this.backoff.get(node.nodeRank);
      const delay = Math.min(prev ? prev.delay * 2 : 1000, 10_000);
      this.backoff.set(node.nodeRank, {
        until: Date.now() + delay,
        delay,
        fresh: true,
        error: (e as Error).message,
      });
      return false;
    }
  }

  private nodeText(node: RunNodeRecord): { nodeLog: string; rankLogs: Map<number, string> } {
    const read = (f: string) =>
      lastLinesOf(this.opts.store.logMirror(this.rec.summary.id, node.nodeRank, f), 200).lines.join(
        '\n',
      );
    return {
      nodeLog: read(RUN_FILES.nodeLog(node.nodeRank)),
      rankLogs: new Map(node.ranks.map((r) => [r, read(RUN_FILES.rankLog(r))])),
    };
  }

  private async cycle() {
    if (this.disposed) return;
    const s = this.rec.summary;
    if (fs.existsSync(this.opts.store.stopFile(s.id))) {
      fs.rmSync(this.opts.store.stopFile(s.id), { force: true });
      if (!FINAL_STATUSES.has(s.status)) this.rec.stopRequested = true;
    }
    await Promise.all(this.rec.nodes.map((n) => this.pollNode(n)));
    this.save();
    if (this.disposed) return;

    if (this.rec.stopRequested && !FINAL_STATUSES.has(s.status)) {
      s.status = 'stopping';
      this.save();
      const left = await this.terminate();
      s.status = 'stopped';
      if (left) s.error = left;
      return this.finish();
    }
    if (FINAL_STATUSES.has(s.status)) return this.finish();

    const now = Date.now();
    const failed = this.rec.nodes.filter((n) => {
      const st = this.rec.nodeState[n.nodeRank];
      return st?.ended && st.exitCode !== 0;
    });
    const unreachable = this.rec.nodes.filter(
      (n) => now - (this.rec.nodeState[n.nodeRank]?.lastSeen ?? now) > this.unreachableMs,
    );
    if (failed.length > 0 || unreachable.length > 0) {
      // A node whose processes vanished (killed) is the likelier cause than one whose collective
      // then failed; among equals the lowest node rank.
      failed.sort(
        (a, b) =>
          Number(this.rec.nodeState[a.nodeRank].exitCode !== null) -
            Number(this.rec.nodeState[b.nodeRank].exitCode !== null) || a.nodeRank - b.nodeRank,
      );
      const culprit = failed[0] ?? unreachable[0];
      const st = this.rec.nodeState[culprit.nodeRank];
      const { nodeLog, rankLogs } = this.nodeText(culprit);
      const cause = failed[0]
        ? undefined
        : `unreachable for ${Math.round((now - st.lastSeen) / 1000)} s (${this.backoff.get(culprit.nodeRank)?.error ?? 'no answer'})`;
      s.status = 'failed';
      s.error = describeNodeFailure({
        node: culprit.name,
        exitCode: st.exitCode,
        nodeLog,
        rankLogs,
        ...(cause ? { cause } : {}),
      });
      this.save();
      const left = await this.terminate();
      if (left) s.error += `\n${left}`;
      return this.finish();
    }
    if (this.rec.nodes.every((n) => this.rec.nodeState[n.nodeRank]?.ended)) {
      await Promise.all(this.rec.nodes.map((n) => this.pollNode(n)));
      const end = this.rec.runEnd;
      s.status = end ?? 'failed';
      if (!end)
        s.error =
          'the training processes ended without reporting how the run ended (no run_end event)';
      return this.finish();
    }
  }

  /**
   * TERM every live process group, wait up to the grace period, KILL what is left, and check that
   * no process of the run remains. Returns a warning when something could not be cleaned up.
   */
  private async terminate(): Promise<string | null> {
    const live = () => this.rec.nodes.filter((n) => !this.rec.nodeState[n.nodeRank]?.ended);
    const signal = async (sig: 'TERM' | 'KILL') =>
      Promise.all(
        live().map(async (n) => {
          try {
            const ch = await this.channelFor(n);
            await ch.exec('sh -s', { stdin: signalScript(n.runDir, sig), timeoutMs: 20_000 });
          } catch {
            /* unreachable: reported below */
          }
        }),
      );
    await signal('TERM');
    const deadline = Date.now() + this.graceMs;
    while (live().length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      await Promise.all(live().map((n) => this.pollNode(n)));
    }
    if (live().length > 0) {
      await signal('KILL');
      await new Promise((r) => setTimeout(r, 500));
    }
    await Promise.all(this.rec.nodes.map((n) => this.pollNode(n)));
    const problems: string[] = [];
    await Promise.all(
      this.rec.nodes.map(async (n) => {
        try {
          const ch = await this.channelFor(n);
          const r = await ch.exec('sh -s', { stdin: leftoverScript(n.runDir), timeoutMs: 20_000 });
          if (r.stdout.trim()) problems.push(`processes left on ${n.name}:\n${r.stdout.trim()}`);
        } catch (e) {
          problems.push(
            `could not check ${n.name} for leftover processes: ${(e as Error).message}`,
          );
        }
      }),
    );
    return problems.length ? problems.join('\n') : null;
  }

  private finish() {
    const s = this.rec.summary;
    s.endedAt ??= Date.now();
    this.rec.stopRequested = false;
    this.save();
    this.disposed = true;
    this.resolveDone(s);
  }
}
