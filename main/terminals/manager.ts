// Every open terminal of the host, by id. Terminals belong to no connection, so a UI that drops
// and reconnects finds its shells still there; one nobody attaches to for a while is closed, so a
// closed window cannot leave shells running forever.
import crypto from 'node:crypto';
import { openLocalShell, type LocalShellOptions } from './local';
import {
  TerminalSession,
  type SessionOptions,
  type ShellBackend,
  type TerminalOutput,
} from './session';

export type TerminalTarget = 'local' | { node: string };

/** Opens a shell on a node; supplied by whoever holds the SSH connections. */
export type NodeShellOpener = (
  node: string,
  size: { cols: number; rows: number },
) => Promise<{ backend: ShellBackend; title: string }>;

export interface ManagerOptions extends SessionOptions {
  /** How long a terminal may stay without any UI before it is closed. */
  orphanMs?: number;
  local?: Omit<LocalShellOptions, 'cols' | 'rows'>;
  openNodeShell?: NodeShellOpener;
}

export class UnknownTerminalError extends Error {
  constructor(id: string) {
    super(`no terminal ${id} (it was closed, or the host restarted)`);
    this.name = 'UnknownTerminalError';
  }
}

export class TerminalManager {
  private sessions = new Map<string, TerminalSession>();
  private orphanTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly opts: ManagerOptions = {}) {}

  get size(): number {
    return this.sessions.size;
  }

  async open(target: TerminalTarget, cols: number, rows: number): Promise<TerminalSession> {
    const id = crypto.randomUUID();
    let backend: ShellBackend;
    let title: string;
    if (target === 'local') {
      backend = openLocalShell({ ...this.opts.local, cols, rows });
      title = 'This computer';
    } else {
      if (!this.opts.openNodeShell)
        throw new Error('shells on nodes are not available in this host');
      ({ backend, title } = await this.opts.openNodeShell(target.node, { cols, rows }));
    }
    const session = new TerminalSession(id, title, backend, this.opts);
    this.sessions.set(id, session);
    // Until the UI subscribes to its output, the terminal is an orphan like any other.
    this.armOrphanTimer(id);
    return session;
  }

  get(id: string): TerminalSession {
    const s = this.sessions.get(id);
    if (!s) throw new UnknownTerminalError(id);
    return s;
  }

  /** Delivers the terminal's output to `listener` until the returned function is called. */
  attach(id: string, listener: (e: TerminalOutput) => void): () => void {
    const s = this.get(id);
    this.clearOrphanTimer(id);
    const detach = s.attach(listener);
    return () => {
      detach();
      if (!s.attached && this.sessions.has(id)) this.armOrphanTimer(id);
    };
  }

  async close(id: string): Promise<void> {
    const s = this.sessions.get(id);
    if (!s) return;
    this.clearOrphanTimer(id);
    this.sessions.delete(id);
    await s.close();
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.close(id)));
  }

  private armOrphanTimer(id: string) {
    this.clearOrphanTimer(id);
    const t = setTimeout(() => void this.close(id), this.opts.orphanMs ?? 60_000);
    t.unref();
    this.orphanTimers.set(id, t);
  }

  private clearOrphanTimer(id: string) {
    const t = this.orphanTimers.get(id);
    if (t) clearTimeout(t);
    this.orphanTimers.delete(id);
  }
}
