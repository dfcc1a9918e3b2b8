// The page's side of the planner workers. Typing never waits on the planner and never queues work
// behind it: at most one request of each kind is in flight; edits made meanwhile collapse into
// the newest one, sent the moment the worker answers. No fixed debounce, so an edit on an idle
// worker is planned at once (the budget from keystroke to table is 16 ms), and a burst of edits
// costs one plan per worker round-trip instead of one per key. Plans and sweeps run in two
// workers, so a sweep of the selected layout never delays the table.
//
// When the page may share memory with its workers, the plan lane also reads the newest answer
// from a mailbox (see mailbox.ts) in the next frame: at its start, and if it is not there yet, again
// after that frame's layout (late-in-frame.ts). The table then changes in the same frame as the
// typed character. The worker's message cannot do that: Chromium holds it back until that frame
// has been drawn. Each answer says how many frames it came late.
import type { RunConfig } from '../../../../app/config';
import type { LayoutChoice } from '../../../../app/planner/types';
import type { FromWorker, PlanReply, SweepReply, ToWorker } from './worker-protocol';
import { lateInFrame } from './late-in-frame';
import { createMailboxBuffer, MailboxReader } from './mailbox';
import PlanWorker from './plan.worker?worker';

export interface PlannerClient {
  /** Plan this text; returns the request's sequence number. */
  plan(text: string): number;
  sweep(config: RunConfig, layout: LayoutChoice, seqLens: number[]): number;
  dispose(): void;
}

/** What a lane needs of a Worker; tests pass a fake. */
export type WorkerLike = Pick<Worker, 'postMessage' | 'terminate'> & {
  onmessage: ((e: MessageEvent) => void) | null;
  onerror: ((e: ErrorEvent) => void) | null;
};
export type MakeWorker = (name: string) => WorkerLike;

type Request = Exclude<ToWorker, { kind: 'mailbox' }>;

const bundledWorker: MakeWorker = (name) => new PlanWorker({ name });

/** Shared memory for the plan lane's mailbox, and the frame clock that reads it. */
export interface MailboxSupport {
  buffer(): SharedArrayBuffer;
  /** cb at the start of the next frame (requestAnimationFrame), with the frame's start time. */
  nextFrame(cb: (frameTime: number) => void): void;
  /** Called in a frame: cb later in that frame, after its layout and before its paint. */
  lateInFrame(cb: () => void): void;
}

/**
 * Frames drawn after the edit before the one that shows its answer: 0 when the table changes in
 * the same frame as the typed character. Null when the page cannot tell (no mailbox, no frame clock).
 */
export type FramesLate = number | null;

/**
 * When the first frame after the edit began (performance.now() clock), or null when the page
 * cannot tell. Nothing but input and rendering runs between a key press and that frame, so it is
 * the earliest moment any answer can reach the table.
 */
export type FirstFrameAt = number | null;

/** Available only to a cross-origin isolated page (serve mode sends COOP and COEP). */
const browserMailbox = (): MailboxSupport | null =>
  typeof SharedArrayBuffer !== 'undefined' &&
  typeof crossOriginIsolated !== 'undefined' &&
  crossOriginIsolated &&
  typeof requestAnimationFrame === 'function' &&
  typeof ResizeObserver === 'function'
    ? {
        buffer: () => createMailboxBuffer(),
        nextFrame: (cb) => requestAnimationFrame(cb),
        lateInFrame: lateInFrame(document),
      }
    : null;

class Lane<R extends FromWorker> {
  private worker: WorkerLike;
  /** The request the worker is on, if any. */
  private inFlight: number | null = null;
  private pending: Request | null = null;
  /** The newest answer handed on; the same answer from the other path is dropped. */
  private delivered = 0;
  private mailbox: MailboxReader | null = null;
  private peekQueued = false;
  /** Frames begun while an answer was awaited, and that count when the oldest unanswered edit came. */
  private frames = 0;
  private waitingSince: number | null = null;
  private firstFrameAt: number | null = null;
  private lastSeq = 0;

  constructor(
    private readonly name: string,
    private readonly onReply: (r: R, late: FramesLate, firstFrameAt: FirstFrameAt) => void,
    private readonly onCrash: (message: string) => void,
    private readonly make: MakeWorker,
    private readonly support: MailboxSupport | null = null,
  ) {
    this.worker = this.start();
  }

  private start(): WorkerLike {
    const w = this.make(this.name);
    w.onmessage = (e: MessageEvent<R>) => this.receive(e.data);
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.onCrash(e.message || `the ${this.name} worker stopped`);
      // A worker that threw at the top level is gone: start a fresh one for the next request.
      w.terminate();
      this.inFlight = null;
      this.worker = this.start();
    };
    if (this.support) {
      const buffer = this.support.buffer();
      this.mailbox = new MailboxReader(buffer);
      w.postMessage({ kind: 'mailbox', buffer } satisfies ToWorker);
    }
    return w;
  }

  /** `inFrame`: taken while a frame is being drawn (it shows in that frame, not the next). */
  private receive(r: R, inFrame = false) {
    if (r.seq === this.inFlight) {
      this.inFlight = null;
      // Send what piled up first, so the worker starts on it while the page renders this reply.
      this.flush();
    }
    if (r.seq <= this.delivered) return;
    this.delivered = r.seq;
    const late =
      this.mailbox && this.waitingSince !== null
        ? this.frames - this.waitingSince - (inFrame ? 1 : 0)
        : null;
    const firstFrameAt = this.mailbox && this.waitingSince !== null ? this.firstFrameAt : null;
    if (r.seq === this.lastSeq) {
      this.waitingSince = null;
      this.firstFrameAt = null;
    }
    this.onReply(r, late, firstFrameAt);
  }

  /**
   * In each frame while a request is out: the answer, if the worker has published it, at the
   * frame's start and else after its layout. Whichever comes first, this or the message, shows it.
   */
  private peek(frameTime: number) {
    this.peekQueued = false;
    this.frames++;
    if (this.waitingSince !== null) this.firstFrameAt ??= frameTime;
    if (!this.takeInFrame() && this.inFlight !== null) {
      this.support!.lateInFrame(() => this.takeInFrame(true));
    }
  }

  private takeInFrame(last = false): boolean {
    const r = this.mailbox?.take() as R | null;
    if (r) this.receive(r, true);
    else if (last && this.inFlight !== null) this.queuePeek();
    return r !== null;
  }

  private queuePeek() {
    if (!this.mailbox || this.peekQueued) return;
    this.peekQueued = true;
    this.support!.nextFrame((t) => this.peek(t ?? performance.now()));
  }

  send(m: Request) {
    this.waitingSince ??= this.frames;
    this.lastSeq = m.seq;
    this.pending = m;
    this.flush();
  }

  private flush() {
    if (this.inFlight !== null || !this.pending) return;
    const m = this.pending;
    this.pending = null;
    this.inFlight = m.seq;
    this.worker.postMessage(m);
    this.queuePeek();
  }

  dispose() {
    this.worker.terminate();
  }
}

export function createPlannerClient(
  handlers: {
    onPlan: (r: PlanReply, late: FramesLate, firstFrameAt: FirstFrameAt) => void;
    onSweep: (r: SweepReply) => void;
    onCrash: (message: string) => void;
  },
  make: MakeWorker = bundledWorker,
  mailbox: MailboxSupport | null = make === bundledWorker ? browserMailbox() : null,
): PlannerClient {
  let seq = 0;
  const plans = new Lane<PlanReply>(
    'spindle-planner',
    handlers.onPlan,
    handlers.onCrash,
    make,
    mailbox,
  );
  const sweeps = new Lane<SweepReply>('spindle-sweep', handlers.onSweep, handlers.onCrash, make);
  return {
    plan(text) {
      const m: Request = { kind: 'plan', seq: ++seq, text };
      plans.send(m);
      return m.seq;
    },
    sweep(config, layout, seqLens) {
      const m: Request = { kind: 'sweep', seq: ++seq, config, layout, seqLens };
      sweeps.send(m);
      return m.seq;
    },
    dispose() {
      plans.dispose();
      sweeps.dispose();
    },
  };
}
