// One open terminal: a shell backend (local pty or SSH channel), its output batched and held
// under flow control, delivered to at most one UI listener at a time.
import { FlowControl, HIGH_WATER, LOW_WATER } from './flow';

/** What a terminal needs from whatever runs the shell. */
export interface ShellBackend {
  /** Process id of a local shell (tests and diagnostics); undefined for remote shells. */
  readonly pid?: number;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  pause(): void;
  resume(): void;
  /** Ends the shell; must lead to onExit. */
  kill(): void;
  onData(listener: (data: string) => void): void;
  onExit(listener: (code: number | null) => void): void;
}

export type TerminalOutput = { type: 'data'; data: string } | { type: 'exit'; code: number | null };

export interface SessionOptions {
  high?: number;
  low?: number;
  /** Output is gathered this long before it is sent: a flood becomes a few large messages. */
  batchMs?: number;
  /** …or sent at once when this much is gathered. */
  batchMax?: number;
}

export class TerminalSession {
  private flow: FlowControl;
  private listener: ((e: TerminalOutput) => void) | null = null;
  /** Output produced while no UI was attached, delivered to the next one. */
  private held: string[] = [];
  private heldUnits = 0;
  private batch = '';
  private batchTimer: NodeJS.Timeout | null = null;
  private exit: { code: number | null } | null = null;
  private readonly batchMs: number;
  private readonly batchMax: number;
  private readonly exitWaiters: (() => void)[] = [];

  constructor(
    readonly id: string,
    readonly title: string,
    private readonly backend: ShellBackend,
    opts: SessionOptions = {},
  ) {
    this.batchMs = opts.batchMs ?? 4;
    this.batchMax = opts.batchMax ?? 32 * 1024;
    this.flow = new FlowControl(
      () => backend.pause(),
      () => backend.resume(),
      opts.high ?? HIGH_WATER,
      opts.low ?? LOW_WATER,
    );
    backend.onData((d) => this.onData(d));
    backend.onExit((code) => {
      this.flush();
      this.exit = { code };
      this.listener?.({ type: 'exit', code });
      this.exitWaiters.splice(0).forEach((w) => w());
    });
  }

  get pid(): number | undefined {
    return this.backend.pid;
  }

  get exited(): boolean {
    return this.exit !== null;
  }

  get attached(): boolean {
    return this.listener !== null;
  }

  /** Unacknowledged output, and whether the shell is paused for it (for tests and diagnostics). */
  get flowState(): { pending: number; paused: boolean } {
    return { pending: this.flow.pending, paused: this.flow.isPaused };
  }

  private onData(d: string) {
    this.batch += d;
    if (this.batch.length >= this.batchMax) this.flush();
    else this.batchTimer ??= setTimeout(() => this.flush(), this.batchMs);
  }

  private flush() {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = null;
    if (!this.batch) return;
    const data = this.batch;
    this.batch = '';
    if (this.listener) this.listener({ type: 'data', data });
    else {
      this.held.push(data);
      this.heldUnits += data.length;
    }
    // Held output counts too: with nobody reading, the shell stops at the high-water mark
    // instead of filling the host's memory.
    this.flow.sent(data.length);
  }

  /**
   * Makes `listener` the one UI receiving output (a newer one replaces an older one, e.g. after a
   * reconnect). Output held meanwhile comes first. Returns the detach function.
   */
  attach(listener: (e: TerminalOutput) => void): () => void {
    this.listener = listener;
    const held = this.held.join('');
    this.held = [];
    this.heldUnits = 0;
    // Whatever the previous UI had not acknowledged will never be: count only what goes out now.
    this.flow.reset(held.length);
    if (held) listener({ type: 'data', data: held });
    if (this.exit) listener({ type: 'exit', code: this.exit.code });
    return () => {
      if (this.listener !== listener) return;
      this.listener = null;
      this.flow.reset(this.heldUnits);
    };
  }

  input(data: string): void {
    if (!this.exit) this.backend.write(data);
  }

  resize(cols: number, rows: number): void {
    if (!this.exit) this.backend.resize(cols, rows);
  }

  ack(units: number): void {
    this.flow.acked(units);
  }

  /** Ends the shell and resolves once it has exited. */
  close(): Promise<void> {
    if (this.exit) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    this.backend.kill();
    return done;
  }
}
