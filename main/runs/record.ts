// The local run index: one folder per run under <dataDir>/runs/<id>/ holding run.json (what
// was launched where, status, tail offsets), mirrors of events.jsonl and the logs, and the
// watcher lock. run.json is replaced atomically; the mirrors are append-only and are cut back to
// the sizes run.json records, so the two never disagree after a crash.
import fs from 'node:fs';
import path from 'node:path';
import type { NodeSpec } from '../../app/protocol/nodes';
import type { LaunchPlan, RunSummary } from '../../app/protocol/runs';
import { readJsonFile, writeFileAtomicSync } from '../nodes/atomic';

export interface RunNodeRecord {
  nodeRank: number;
  name: string;
  /** The node's connection settings as launched (the node list may change later); null: local. */
  spec: NodeSpec | null;
  runDir: string;
  ranks: number[];
}

export interface TailState {
  /** Bytes of the node's file consumed. */
  offset: number;
  /** Bytes of the local mirror that correspond to it. */
  mirrorBytes: number;
  /** Complete lines mirrored (for events.jsonl: the event count). */
  lines: number;
}

export interface NodeState {
  alive: boolean;
  exitCode: number | null;
  /** When the node last answered (ms). */
  lastSeen: number;
  /** Set once the node's processes are gone. */
  ended: boolean;
}

export interface RunRecord {
  version: 1;
  summary: RunSummary;
  target: 'local' | 'ssh';
  nodes: RunNodeRecord[];
  plan: LaunchPlan;
  /** Key: `${nodeRank}/${file relative to the run dir}`. */
  tails: Record<string, TailState>;
  nodeState: Record<number, NodeState>;
  /** The run_end status the runtime reported, if any. */
  runEnd: 'succeeded' | 'failed' | 'stopped' | null;
  stopRequested: boolean;
}

export const FINAL_STATUSES = new Set<RunSummary['status']>(['succeeded', 'failed', 'stopped']);

export class RunStore {
  readonly root: string;
  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'runs');
  }

  dir(id: string) {
    if (!/^[A-Za-z0-9._-]+$/.test(id)) throw new Error(`not a run id: ${id}`);
    return path.join(this.root, id);
  }
  recordFile(id: string) {
    return path.join(this.dir(id), 'run.json');
  }
  lockFile(id: string) {
    return path.join(this.dir(id), 'watch.lock');
  }
  stopFile(id: string) {
    return path.join(this.dir(id), 'stop-request');
  }
  eventsMirror(id: string) {
    return path.join(this.dir(id), 'events.jsonl');
  }
  logMirror(id: string, nodeRank: number, file: string) {
    return path.join(this.dir(id), 'nodes', String(nodeRank), file);
  }

  read(id: string): RunRecord | null {
    return readJsonFile<RunRecord>(this.recordFile(id));
  }

  write(rec: RunRecord) {
    writeFileAtomicSync(this.recordFile(rec.summary.id), JSON.stringify(rec, null, 1) + '\n');
  }

  ids(): string[] {
    try {
      return fs
        .readdirSync(this.root)
        .filter((d) => fs.existsSync(path.join(this.root, d, 'run.json')));
    } catch {
      return [];
    }
  }

  list(): RunRecord[] {
    const out: RunRecord[] = [];
    for (const id of this.ids()) {
      try {
        const r = this.read(id);
        if (r) out.push(r);
      } catch {
        /* a record being replaced right now: next time */
      }
    }
    return out.sort((a, b) => b.summary.startedAt - a.summary.startedAt);
  }

  remove(id: string) {
    fs.rmSync(this.dir(id), { recursive: true, force: true });
  }
}
