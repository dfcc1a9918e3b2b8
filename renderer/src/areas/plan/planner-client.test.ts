// The planner client never queues stale work: one request of each kind in flight, newer edits
// replace older pending ones, plans and sweeps do not wait for each other, a crash starts over.
import { describe, expect, it } from 'vitest';
import type { RunConfig } from '../../../../app/config';
import type { LayoutChoice } from '../../../../app/planner/types';
import { createMailboxBuffer, MailboxWriter } from './mailbox';
import { createPlannerClient, type MailboxSupport, type WorkerLike } from './planner-client';
import type { PlanReply, SweepReply, ToWorker } from './worker-protocol';

class FakeWorker implements WorkerLike {
  onmessage: ((e: MessageEvent) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  posted: ToWorker[] = [];
  terminated = false;
  constructor(readonly name: string) {}
  postMessage(m: ToWorker) {
    this.posted.push(m);
  }
  terminate() {
    this.terminated = true;
  }
  /** The mailbox this worker was handed. */
  buffer(): SharedArrayBuffer {
    return (this.posted.find((m) => m.kind === 'mailbox') as { buffer: SharedArrayBuffer }).buffer;
  }
  reply(data: unknown) {
    this.onmessage?.({ data } as MessageEvent);
  }
  crash(message: string) {
    this.onerror?.({ message, preventDefault() {} } as ErrorEvent);
  }
}

function setup(mailbox: MailboxSupport | null = null) {
  const workers: FakeWorker[] = [];
  const plans: PlanReply[] = [];
  const lates: (number | null)[] = [];
  const firstFrames: (number | null)[] = [];
  const sweeps: SweepReply[] = [];
  const crashes: string[] = [];
  const client = createPlannerClient(
    {
      onPlan: (r, late, firstFrameAt) => {
        plans.push(r);
        lates.push(late);
        firstFrames.push(firstFrameAt);
      },
      onSweep: (r) => sweeps.push(r),
      onCrash: (m) => crashes.push(m),
    },
    (name) => {
      const w = new FakeWorker(name);
      workers.push(w);
      return w;
    },
    mailbox,
  );
  const lane = (name: string) => workers.filter((w) => w.name === name).at(-1)!;
  return { client, workers, plans, lates, firstFrames, sweeps, crashes, lane };
}

/** A client with a mailbox and a frame clock the test drives: each callback is one frame step. */
function mailboxSetup() {
  const frames: ((frameTime?: number) => void)[] = [];
  const late: (() => void)[] = [];
  const buffer = createMailboxBuffer(64 * 1024);
  const t = setup({
    buffer: () => buffer,
    nextFrame: (cb) => frames.push(cb),
    lateInFrame: (cb) => late.push(cb),
  });
  return { ...t, frames, late, buffer };
}

const planReply = (seq: number) => ({
  kind: 'plan',
  seq,
  ok: false,
  issues: [],
  raw: undefined,
  ms: { parse: 0, plan: 0 },
});
const layout: LayoutChoice = {
  ulysses: 1,
  ring: 1,
  dp: 1,
  zero: 0,
  checkpointing: 'none',
  offload: { optimizer: false, params: false, activations: false },
  chunks: 1,
};

describe('planner client', () => {
  it('sends an edit at once when idle, and only the newest of a burst after the answer', () => {
    const { client, lane, plans } = setup();
    const a = client.plan('a');
    expect(lane('spindle-planner').posted.map((m) => (m as { text: string }).text)).toEqual(['a']);
    client.plan('b');
    const c = client.plan('c');
    // Busy: b and c wait, and c replaces b.
    expect(lane('spindle-planner').posted).toHaveLength(1);
    lane('spindle-planner').reply(planReply(a));
    expect(plans.map((p) => p.seq)).toEqual([a]);
    expect(lane('spindle-planner').posted.map((m) => (m as { text: string }).text)).toEqual([
      'a',
      'c',
    ]);
    expect(lane('spindle-planner').posted[1].seq).toBe(c);
    lane('spindle-planner').reply(planReply(c));
    expect(plans.map((p) => p.seq)).toEqual([a, c]);
  });

  it('numbers requests increasingly across both kinds', () => {
    const { client } = setup();
    const a = client.plan('a');
    const s = client.sweep({} as RunConfig, layout, [4096]);
    const b = client.plan('b');
    expect(a).toBeLessThan(s);
    expect(s).toBeLessThan(b);
  });

  it('runs sweeps beside plans, in their own worker', () => {
    const { client, lane, sweeps } = setup();
    client.plan('a');
    const s = client.sweep({} as RunConfig, layout, [4096, 8192]);
    expect(lane('spindle-sweep').posted).toHaveLength(1);
    expect(lane('spindle-sweep')).not.toBe(lane('spindle-planner'));
    lane('spindle-sweep').reply({
      kind: 'sweep',
      seq: s,
      ok: true,
      points: [],
      maxSeq: null,
      layout: null,
    });
    expect(sweeps).toHaveLength(1);
  });

  it('after a crash, reports it and plans the next edit in a fresh worker', () => {
    const { client, workers, lane, crashes } = setup();
    client.plan('a');
    const first = lane('spindle-planner');
    first.crash('boom');
    expect(crashes).toEqual(['boom']);
    expect(first.terminated).toBe(true);
    client.plan('b');
    const second = lane('spindle-planner');
    expect(second).not.toBe(first);
    expect(second.posted.map((m) => (m as { text: string }).text)).toEqual(['b']);
    expect(workers.filter((w) => w.name === 'spindle-planner')).toHaveLength(2);
  });

  it('with shared memory, shows an answer in the next frame and drops the same answer arriving later', () => {
    const { frames, late, client, lane, plans, lates } = mailboxSetup();
    const worker = lane('spindle-planner');
    const writer = new MailboxWriter(worker.buffer());
    // The worker is handed the mailbox before any request.
    expect(worker.posted[0]).toMatchObject({ kind: 'mailbox' });
    const a = client.plan('a');
    expect(frames).toHaveLength(1);
    const b = client.plan('b');
    writer.write(planReply(a));
    frames.shift()!();
    // Shown from the mailbox at the frame's start, so in the edit's own frame; b goes out at once.
    expect(plans.map((p) => p.seq)).toEqual([a]);
    expect(lates).toEqual([0]);
    expect(late).toHaveLength(0);
    expect(worker.posted.slice(1).map((m) => (m as { seq: number }).seq)).toEqual([a, b]);
    // a's message arrives after: not shown twice, and b stays the one request in flight.
    worker.reply(planReply(a));
    const c = client.plan('c');
    expect(plans.map((p) => p.seq)).toEqual([a]);
    expect(worker.posted).toHaveLength(3);
    // b is not ready at the next frame's start: looked for again after that frame's layout.
    frames.shift()!();
    expect(late).toHaveLength(1);
    writer.write(planReply(b));
    late.shift()!();
    // Taken late in the frame it was awaited in: b (edited in the frame before) is one frame late.
    expect(plans.map((p) => p.seq)).toEqual([a, b]);
    expect(lates).toEqual([0, 1]);
    expect(worker.posted).toHaveLength(4);
    // c misses its frame entirely; the message, delivered after that frame, shows it in the next.
    // Counted, like the edit's time, from when the table last caught up with the editor: a's edit,
    // three frames before the one that shows c.
    frames.shift()!();
    late.shift()!();
    expect(frames).toHaveLength(1);
    worker.reply(planReply(c));
    expect(plans.map((p) => p.seq)).toEqual([a, b, c]);
    expect(lates).toEqual([0, 1, 3]);
    // Nothing is out after c's answer: the frames stop looking.
    frames.shift()!();
    expect(frames).toHaveLength(0);
    expect(late).toHaveLength(0);
  });

  it('counts frames late from the last time the table caught up with the editor', () => {
    const { frames, client, lane, lates } = mailboxSetup();
    const worker = lane('spindle-planner');
    const writer = new MailboxWriter(worker.buffer());
    const a = client.plan('a');
    frames.shift()!(); // a's first frame passes without its answer
    const b = client.plan('b'); // b waits behind a
    worker.reply(planReply(a)); // a shown after that frame: one frame late; b goes out
    writer.write(planReply(b));
    frames.shift()!();
    // b shown at the next frame's start: counted from a's edit, the oldest not shown when b came.
    expect(lates).toEqual([1, 1]);
    // An edit on an idle lane starts counting afresh.
    client.plan('c');
    writer.write(planReply(b + 1));
    frames.shift()!();
    expect(lates).toEqual([1, 1, 0]);
  });

  it('tells when the first frame after the oldest unanswered edit began', () => {
    const { frames, client, lane, firstFrames } = mailboxSetup();
    const worker = lane('spindle-planner');
    const writer = new MailboxWriter(worker.buffer());
    const a = client.plan('a');
    frames.shift()!(1000); // a's first frame: no answer yet
    const b = client.plan('b');
    worker.reply(planReply(a));
    writer.write(planReply(b));
    frames.shift()!(1016.7);
    // Both answers count from a's edit, so from a's first frame.
    expect(firstFrames).toEqual([1000, 1000]);
    // Caught up: the next edit's first frame is its own.
    const c = client.plan('c');
    writer.write(planReply(c));
    frames.shift()!(1033.3);
    expect(firstFrames).toEqual([1000, 1000, 1033.3]);
    // Without a frame clock the page cannot tell.
    const plain = setup();
    const d = plain.client.plan('d');
    plain.lane('spindle-planner').reply(planReply(d));
    expect(plain.firstFrames).toEqual([null]);
  });
});
