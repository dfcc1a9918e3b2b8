// The planner worker's newest answer, in memory the page can read at any moment. Chromium holds
// a worker's message back until the frame after a key press has been drawn, so the table would
// always lag the typed character by a frame; reading this while that frame is drawn (see
// planner-client.ts) shows both together. The message still follows: it is the path when no shared
// memory is available (a page that is not cross-origin isolated) and when the answer was not
// ready in time.
//
// Layout: Int32 [version, length] then the UTF-8 JSON of the answer. One writer (the worker).
// The version is odd while a write is under way; a reader that sees it change while copying
// drops what it read (seqlock).

const HEADER_BYTES = 8;
const VERSION = 0;
const LENGTH = 1;

/** Non-finite numbers survive the trip (JSON would turn them into null). */
const NON_FINITE = '$spindle.num';
function replacer(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? { [NON_FINITE]: String(v) } : v;
}
function reviver(_key: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object' && NON_FINITE in v) {
    return Number((v as Record<string, string>)[NON_FINITE]);
  }
  return v;
}

export const MAILBOX_BYTES = 1 << 20;

export function createMailboxBuffer(bytes = MAILBOX_BYTES): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + bytes);
}

export class MailboxWriter {
  private readonly head: Int32Array;
  private readonly body: Uint8Array;
  private readonly encoder = new TextEncoder();

  constructor(buffer: SharedArrayBuffer) {
    this.head = new Int32Array(buffer, 0, 2);
    this.body = new Uint8Array(buffer, HEADER_BYTES);
  }

  /** Publish `value`; false (and the previous answer is withdrawn) when it does not fit. */
  write(value: unknown): boolean {
    const bytes = this.encoder.encode(JSON.stringify(value, replacer));
    Atomics.add(this.head, VERSION, 1);
    const fits = bytes.length <= this.body.length;
    if (fits) this.body.set(bytes);
    Atomics.store(this.head, LENGTH, fits ? bytes.length : 0);
    Atomics.add(this.head, VERSION, 1);
    return fits;
  }
}

export class MailboxReader {
  private readonly head: Int32Array;
  private readonly body: Uint8Array;
  private readonly decoder = new TextDecoder();
  private lastVersion = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.head = new Int32Array(buffer, 0, 2);
    this.body = new Uint8Array(buffer, HEADER_BYTES);
  }

  /** The answer published since the last take, or null (none new, withdrawn, or mid-write). */
  take(): unknown {
    const version = Atomics.load(this.head, VERSION);
    if (version === this.lastVersion || version % 2 === 1) return null;
    const length = Atomics.load(this.head, LENGTH);
    // TextDecoder refuses views of shared memory: copy out first, then check nothing moved.
    const copy = this.body.slice(0, length);
    if (Atomics.load(this.head, VERSION) !== version) return null;
    this.lastVersion = version;
    return length === 0 ? null : JSON.parse(this.decoder.decode(copy), reviver);
  }
}
