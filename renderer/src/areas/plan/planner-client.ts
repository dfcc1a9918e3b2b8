// The page's side of the planner workers. Typing never waits on the planner and never queues work
// behind it: at most one request of each kind is in flight; edits made meanwhile collapse into
// the newest one, sent the moment the worker answers. No fixed debounce, so an edit on an idle
// worker is planned at once (the budget from keystroke to table is 16 ms), and a burst of edits
// costs one plan per worker round-trip instead of one per key. Plans and sweeps run in two
// workers, so a sweep of the selected layout never delays the table.
import type { RunConfig } from '../../../../app/config';
import type { LayoutChoice } from '../../../../app/planner/types';
import type { FromWorker, PlanReply, SweepReply, ToWorker } from './worker-protocol';
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

const bundledWorker: MakeWorker = (name) => new PlanWorker({ name });

class Lane<R extends FromWorker> {
  private worker: WorkerLike;
  private busy = false;
  private pending: ToWorker | null = null;

  constructor(
    private readonly name: string,
    private readonly onReply: (r: R) => void,
    private readonly onCrash: (message: string) => void,
    private readonly make: MakeWorker,
  ) {
    this.worker = this.start();
  }

  private start(): WorkerLike {
    const w = this.make(this.name);
    w.onmessage = (e: MessageEvent<R>) => {
      this.busy = false;
      // Send what piled up first, so the worker starts on it while the page renders this reply.
      this.flush();
      this.onReply(e.data);
    };
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.onCrash(e.message || `the ${this.name} worker stopped`);
      // A worker that threw at the top level is gone: start a fresh one for the next request.
      w.terminate();
      this.busy = false;
      this.worker = this.start();
    };
    return w;
  }

  send(m: ToWorker) {
    this.pending = m;
    this.flush();
  }

  private flush() {
    if (this.busy || !this.pending) return;
    const m = this.pending;
    this.pending = null;
    this.busy = true;
    this.worker.postMessage(m);
  }

  dispose() {
    this.worker.terminate();
  }
}

export function createPlannerClient(
  handlers: {
    onPlan: (r: PlanReply) => void;
    onSweep: (r: SweepReply) => void;
    onCrash: (message: string) => void;
  },
  make: MakeWorker = bundledWorker,
): PlannerClient {
  let seq = 0;
  const plans = new Lane<PlanReply>('spindle-planner', handlers.onPlan, handlers.onCrash, make);
  const sweeps = new Lane<SweepReply>('spindle-sweep', handlers.onSweep, handlers.onCrash, make);
  return {
    plan(text) {
      const m: ToWorker = { kind: 'plan', seq: ++seq, text };
      plans.send(m);
      return m.seq;
    },
    sweep(config, layout, seqLens) {
      const m: ToWorker = { kind: 'sweep', seq: ++seq, config, layout, seqLens };
      sweeps.send(m);
      return m.seq;
    },
    dispose() {
      plans.dispose();
      sweeps.dispose();
    },
  };
}
