// The mailbox hands the worker's newest answer to the page intact, once, and never a torn one.
import { describe, expect, it } from 'vitest';
import { createMailboxBuffer, MailboxReader, MailboxWriter } from './mailbox';

const randomAnswer = () => ({
  kind: 'plan',
  seq: Math.floor(Math.random() * 1e6),
  ok: true,
  plan: {
    layouts: Array.from({ length: 5 + Math.floor(Math.random() * 20) }, (_, i) => ({
      key: `u${i}-r${Math.floor(Math.random() * 8)}`,
      peak_bytes: Math.random() * 80e9,
      mfu: Math.random(),
      reasons: [`needs ${(Math.random() * 10).toFixed(2)} GiB more — “ünïcode”`],
    })),
  },
});

describe('plan mailbox', () => {
  it('round-trips an answer once, with non-finite numbers intact', () => {
    const buf = createMailboxBuffer(64 * 1024);
    const w = new MailboxWriter(buf);
    const r = new MailboxReader(buf);
    expect(r.take()).toBeNull();
    const a = { ...randomAnswer(), max: Infinity, min: -Infinity, nan: NaN };
    expect(w.write(a)).toBe(true);
    expect(r.take()).toEqual(a);
    expect(r.take()).toBeNull();
    const b = randomAnswer();
    w.write(b);
    expect(r.take()).toEqual(b);
  });

  it('an answer too large for the buffer withdraws the last one instead of leaving it readable', () => {
    const buf = createMailboxBuffer(256);
    const w = new MailboxWriter(buf);
    const r = new MailboxReader(buf);
    expect(w.write({ seq: 1 })).toBe(true);
    expect(w.write({ seq: 2, big: 'x'.repeat(1000) })).toBe(false);
    expect(r.take()).toBeNull();
  });

  it('a read that overlaps a write is dropped', () => {
    const buf = createMailboxBuffer(1024);
    const w = new MailboxWriter(buf);
    const r = new MailboxReader(buf);
    w.write({ seq: 1 });
    // Mid-write: the version is odd.
    const head = new Int32Array(buf, 0, 2);
    Atomics.add(head, 0, 1);
    expect(r.take()).toBeNull();
    Atomics.add(head, 0, 1);
    expect(r.take()).toEqual({ seq: 1 });
  });
});
