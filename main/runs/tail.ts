// Tailing by byte offset. The offset only ever advances past complete lines, so a line being
// written is read again whole next time, and the offset alone is enough to resume after a dropped
// connection or a host restart: nothing lost, nothing twice.
import fs from 'node:fs';
import path from 'node:path';

export interface Split {
  /** Complete lines, without their newline. */
  lines: string[];
  /** Bytes of the chunk those lines took (the new offset is old offset + consumed). */
  consumed: number;
}

/**
 * Complete lines at the start of a chunk. `final`: the writer is gone, so a last line without
 * newline is complete too. `full`: the chunk hit the read limit; a line longer than the limit is
 * then taken as it is rather than stalling the tail forever.
 */
export function splitComplete(
  chunk: Buffer,
  opts: { final?: boolean; full?: boolean } = {},
): Split {
  let end = chunk.lastIndexOf(0x0a);
  if (end < 0 && chunk.length > 0 && (opts.final || opts.full)) end = chunk.length - 1;
  else if (end >= 0 && opts.final && end < chunk.length - 1) end = chunk.length - 1;
  if (end < 0) return { lines: [], consumed: 0 };
  const text = chunk.subarray(0, end + 1).toString('utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return { lines, consumed: end + 1 };
}

/** A local copy of a remote file's complete lines, which can be cut back to a known size. */
export class Mirror {
  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  }

  size(): number {
    try {
      return fs.statSync(this.file).size;
    } catch {
      return 0;
    }
  }

  /** Drop bytes written after the last persisted state (a crash between append and save). */
  truncate(bytes: number) {
    if (this.size() > bytes) fs.truncateSync(this.file, bytes);
  }

  append(lines: string[]): number {
    if (lines.length === 0) return 0;
    const data = Buffer.from(lines.join('\n') + '\n', 'utf8');
    fs.appendFileSync(this.file, data);
    return data.length;
  }
}

/** Read a local file from an offset, returning complete lines and the new offset. */
export function readLinesFrom(
  file: string,
  offset: number,
  max = 4 * 1024 * 1024,
): { lines: string[]; offset: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return { lines: [], offset };
  }
  try {
    const buf = Buffer.alloc(max);
    const n = fs.readSync(fd, buf, 0, max, offset);
    const s = splitComplete(buf.subarray(0, n));
    return { lines: s.lines, offset: offset + s.consumed };
  } finally {
    fs.closeSync(fd);
  }
}

/** The last `n` lines of a local file (reads at most the final few MB). */
export function lastLinesOf(file: string, n: number): { lines: string[]; end: number } {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return { lines: [], end: 0 };
  }
  const window = Math.min(st.size, Math.max(64 * 1024, n * 512));
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(window);
    fs.readSync(fd, buf, 0, window, st.size - window);
    let text = buf.toString('utf8');
    if (window < st.size) text = text.slice(text.indexOf('\n') + 1);
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return { lines: n === 0 ? [] : lines.slice(-n), end: st.size };
  } finally {
    fs.closeSync(fd);
  }
}
