// A terminal's life outside React: the xterm.js instance, its host shell, flow-control acks and
// re-attachment after a dropped link. Components only lend it a place in the page, so a shell
// (and its scrollback) survives switching tabs or areas; it ends when closed explicitly, or — for
// terminals opened without a key — when their view unmounts.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { host, hostLink } from '../../host';
import { followTheme, xtermFont, xtermTheme } from './theme';

export type TerminalTarget = 'local' | { node: string };
export type SessionState = 'opening' | 'open' | 'exited' | 'failed';

export interface SessionSnapshot {
  state: SessionState;
  title: string | null;
  error: string | null;
  exitCode: number | null;
}

/** Acknowledge rendered output in batches: one ack per keystroke echo would double the traffic. */
const ACK_BATCH = 8 * 1024;
const ACK_DELAY_MS = 30;
/** The protocol caps one input message; a large paste goes in pieces, in order. */
const INPUT_CHUNK = 32 * 1024;

export class TerminalSession {
  readonly term: Terminal;
  /** The element xterm renders into; moved between views, never re-created. */
  readonly element: HTMLDivElement;
  private fit = new FitAddon();
  private id: string | null = null;
  private unsubscribe: (() => void) | null = null;
  private ackPending = 0;
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  private resizeTimer: ReturnType<typeof setTimeout> | null = null;
  /** The size not yet sent to the shell (a splitter drag fires many; it needs the last). */
  private pendingSize: { cols: number; rows: number } | null = null;
  private resizeObs: ResizeObserver;
  private cleanups: (() => void)[] = [];
  private listeners = new Set<() => void>();
  private closed = false;
  snapshot: SessionSnapshot = { state: 'opening', title: null, error: null, exitCode: null };

  constructor(readonly target: TerminalTarget) {
    this.element = document.createElement('div');
    this.element.className = 'terminal-host';
    this.term = new Terminal({
      fontFamily: xtermFont(),
      fontSize: 13,
      lineHeight: 1.15,
      cursorBlink: true,
      scrollback: 10_000,
      theme: xtermTheme(),
    });
    this.term.loadAddon(this.fit);
    this.resizeObs = new ResizeObserver(() => this.fitNow());
    this.cleanups.push(followTheme(this.term));
    const onData = this.term.onData((data) => {
      if (!this.id || this.snapshot.state !== 'open') return;
      // What is typed after a resize must reach the shell after it: a command like `stty size`
      // typed right away would otherwise see the old size (the timer below runs late, too:
      // Chromium defers timers while keys are being pressed).
      this.sendSize();
      for (let i = 0; i < data.length; i += INPUT_CHUNK)
        host
          .request('terminals.input', { id: this.id, data: data.slice(i, i + INPUT_CHUNK) })
          .catch(() => {});
    });
    const onResize = this.term.onResize(({ cols, rows }) => {
      this.pendingSize = { cols, rows };
      if (this.resizeTimer) clearTimeout(this.resizeTimer);
      this.resizeTimer = setTimeout(() => this.sendSize(), 60);
    });
    this.cleanups.push(
      () => onData.dispose(),
      () => onResize.dispose(),
      hostLink.onState((s) => {
        if (s === 'connected' && this.id && !this.unsubscribe && this.snapshot.state === 'open')
          this.attach();
      }),
    );
  }

  private set(patch: Partial<SessionSnapshot>) {
    this.snapshot = { ...this.snapshot, ...patch };
    this.listeners.forEach((l) => l());
  }

  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Shows the terminal inside `container` (opening the shell the first time). */
  mount(container: HTMLElement): void {
    container.append(this.element);
    if (!this.term.element) this.term.open(this.element);
    this.resizeObs.observe(this.element);
    this.fitNow();
    if (this.snapshot.state === 'opening' && !this.id) void this.open();
  }

  unmount(): void {
    this.resizeObs.unobserve(this.element);
    this.element.remove();
  }

  focus(): void {
    this.term.focus();
  }

  /** Fits unless hidden (0×0 would make a 1-column shell). */
  fitNow(): boolean {
    const d = this.fit.proposeDimensions();
    if (!d || !Number.isFinite(d.cols) || !Number.isFinite(d.rows) || d.cols < 2 || d.rows < 1)
      return false;
    this.fit.fit();
    return true;
  }

  private async open() {
    try {
      const t = await host.request('terminals.open', {
        target: this.target,
        cols: Math.max(2, this.term.cols),
        rows: Math.max(1, this.term.rows),
      });
      if (this.closed) {
        host.request('terminals.close', { id: t.id }).catch(() => {});
        return;
      }
      this.id = t.id;
      this.set({ state: 'open', title: t.title });
      this.attach();
      // The box may have changed size while the shell was starting.
      if (this.fitNow())
        host
          .request('terminals.resize', { id: t.id, cols: this.term.cols, rows: this.term.rows })
          .catch(() => {});
    } catch (e) {
      if (this.closed) return;
      this.set({ state: 'failed', error: (e as Error).message });
      this.term.write(`\x1b[31m${(e as Error).message}\x1b[0m\r\n`);
    }
  }

  private sendAck = () => {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (!this.id || this.ackPending === 0) return;
    const bytes = this.ackPending;
    this.ackPending = 0;
    host.request('terminals.ack', { id: this.id, bytes }).catch(() => {});
  };

  private rendered(units: number) {
    this.ackPending += units;
    if (this.ackPending >= ACK_BATCH) this.sendAck();
    else this.ackTimer ??= setTimeout(this.sendAck, ACK_DELAY_MS);
  }

  private attach() {
    const id = this.id!;
    this.unsubscribe?.();
    this.unsubscribe = host.subscribe(
      'terminals.output',
      { id },
      (e) => {
        if (e.type === 'data') {
          // Acknowledged once xterm has parsed the chunk: that is what stops a flood from
          // piling up in the page faster than it can paint.
          const n = e.data.length;
          this.term.write(e.data, () => this.rendered(n));
        } else {
          this.term.write(
            `\r\n\x1b[2m[process exited${e.code === null ? '' : ` with code ${e.code}`}]\x1b[0m\r\n`,
          );
          this.set({ state: 'exited', exitCode: e.code });
        }
      },
      (err) => {
        this.unsubscribe = null;
        // A dropped link ends every stream and the link listener re-attaches. Anything else (the
        // host restarted and no longer has this shell) ends the terminal.
        if (err && !/disconnected/i.test(err.message) && this.snapshot.state === 'open') {
          this.term.write(`\r\n\x1b[2m[${err.message}]\x1b[0m\r\n`);
          this.set({ state: 'exited', exitCode: null });
        }
      },
    );
  }

  private sendSize() {
    if (this.resizeTimer) clearTimeout(this.resizeTimer);
    this.resizeTimer = null;
    const size = this.pendingSize;
    this.pendingSize = null;
    if (size && this.id && this.snapshot.state === 'open')
      host.request('terminals.resize', { id: this.id, ...size }).catch(() => {});
  }

  /** Ends the shell on the host and frees the terminal. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.id) host.request('terminals.close', { id: this.id }).catch(() => {});
    if (this.ackTimer) clearTimeout(this.ackTimer);
    if (this.resizeTimer) clearTimeout(this.resizeTimer);
    this.resizeObs.disconnect();
    this.cleanups.forEach((c) => c());
    this.element.remove();
    this.term.dispose();
    this.listeners.clear();
  }
}

const keyed = new Map<string, TerminalSession>();

/** The session kept under `key`, created for `target` the first time. */
export function keyedSession(key: string, target: TerminalTarget): TerminalSession {
  let s = keyed.get(key);
  if (!s) keyed.set(key, (s = new TerminalSession(target)));
  return s;
}

/** Ends the shell kept under `key` (closing its tab). */
export function closeTerminal(key: string): void {
  keyed.get(key)?.close();
  keyed.delete(key);
}
