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
  const sweeps: SweepReply[] = [];
  const crashes: string[] = [];
  const client = createPlannerClient(
    {
      onPlan: (r) => plans.push(r),
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
  return { client, workers, plans, sweeps, crashes, lane };
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
    const frames: (() => void)[] = [];
    const buffer = createMailboxBuffer(64 * 1024);
    const { client, lane, plans } = setup({ buffer: () => buffer, nextFrame: (cb) => frames.push(cb) });
    const worker = lane('spindle-planner');
    // The worker is handed the mailbox before any request.
    expect(worker.posted[0]).toMatchObject({ kind: 'mailbox', buffer });
    const writer = new MailboxWriter(buffer);
    const a = client.plan('a');
    expect(frames).toHaveLength(1);
    const b = client.plan('b');
    writer.write(planReply(a));
    frames.shift()!();
    // Shown from the mailbox; b goes out at once since a is answered.
    expect(plans.map((p) => p.seq)).toEqual([a]);
    expect(worker.posted.slice(1).map((m) => (m as { seq: number }).seq)).toEqual([a, b]);
    // a's message arrives after: not shown twice, and b stays the one request in flight.
    worker.reply(planReply(a));
    const c = client.plan('c');
    expect(plans.map((p) => p.seq)).toEqual([a]);
    expect(worker.posted).toHaveLength(3);
    // b not ready by its frame: looked for again next frame, and the message shows it meanwhile.
    frames.shift()!();
    expect(frames).toHaveLength(1);
    worker.reply(planReply(b));
    expect(plans.map((p) => p.seq)).toEqual([a, b]);
    expect(worker.posted).toHaveLength(4);
    // Nothing is out after c's answer: the frames stop looking.
    worker.reply(planReply(c));
    expect(plans.map((p) => p.seq)).toEqual([a, b, c]);
    frames.shift()!();
    expect(frames).toHaveLength(0);
  });
});
