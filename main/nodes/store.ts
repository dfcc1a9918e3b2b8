// The persisted node list (<dataDir>/nodes.json). Every change re-reads the file first, so a CLI
// command and a running studio sharing one data dir do not undo each other's edits.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { NodeEntry, type NodeSpec, type ProbeResult } from '../../app/protocol/nodes';
import { readJsonFile, writeFileAtomicSync } from './atomic';

interface FileShape {
  version: 1;
  nodes: unknown[];
}

export class NodeStore {
  readonly file: string;
  private events = new EventEmitter();

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'nodes.json');
  }

  list(): NodeEntry[] {
    const raw = readJsonFile<FileShape>(this.file);
    if (!raw || !Array.isArray(raw.nodes)) return [];
    const out: NodeEntry[] = [];
    for (const n of raw.nodes) {
      const r = NodeEntry.safeParse(n);
      if (r.success) out.push(r.data);
    }
    return out;
  }

  get(name: string): NodeEntry | undefined {
    return this.list().find((n) => n.name === name);
  }

  private save(nodes: NodeEntry[]) {
    writeFileAtomicSync(
      this.file,
      JSON.stringify({ version: 1, nodes } satisfies FileShape, null, 2) + '\n',
    );
    this.events.emit('change', nodes);
  }

  /** Add or replace by name (`previous` renames). */
  put(spec: NodeSpec, previous?: string): NodeEntry {
    const nodes = this.list();
    const old = nodes.find((n) => n.name === (previous ?? spec.name));
    if (previous && previous !== spec.name && nodes.some((n) => n.name === spec.name))
      throw new Error(`a node named ${spec.name} already exists`);
    // A changed address or port invalidates what the last probe found.
    const sameTarget = old && old.host === spec.host && old.port === spec.port;
    const entry: NodeEntry = { ...spec, lastProbe: sameTarget ? old.lastProbe : null };
    const rest = nodes.filter((n) => n.name !== (previous ?? spec.name));
    this.save([...rest, entry].sort((a, b) => a.name.localeCompare(b.name)));
    return entry;
  }

  remove(name: string): boolean {
    const nodes = this.list();
    const rest = nodes.filter((n) => n.name !== name);
    if (rest.length === nodes.length) return false;
    this.save(rest);
    return true;
  }

  setProbe(name: string, probe: ProbeResult) {
    const nodes = this.list();
    const n = nodes.find((x) => x.name === name);
    if (!n) return;
    n.lastProbe = probe;
    this.save(nodes);
  }

  /** Changes made here, and (polled) changes another process made to the same file. */
  onChange(cb: (nodes: NodeEntry[]) => void): () => void {
    let last = JSON.stringify(this.list());
    const deliver = (nodes: NodeEntry[]) => {
      const now = JSON.stringify(nodes);
      if (now === last) return;
      last = now;
      cb(nodes);
    };
    const onFile = () => {
      try {
        deliver(this.list());
      } catch {
        /* a half-visible edit by hand: wait for the next one */
      }
    };
    this.events.on('change', deliver);
    fs.watchFile(this.file, { interval: 1000, persistent: false }, onFile);
    return () => {
      this.events.off('change', deliver);
      fs.unwatchFile(this.file, onFile);
    };
  }
}
