import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalChannel } from '../nodes/local';
import { lastLinesOf, Mirror, readLinesFrom, splitComplete } from './tail';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-tail-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('splitComplete', () => {
  it('keeps a partial last line for next time', () => {
    expect(splitComplete(Buffer.from('a\nbb\ncc'))).toEqual({ lines: ['a', 'bb'], consumed: 5 });
    expect(splitComplete(Buffer.from('partial'))).toEqual({ lines: [], consumed: 0 });
    expect(splitComplete(Buffer.from(''))).toEqual({ lines: [], consumed: 0 });
  });
  it('takes the rest when the writer is gone, or when one line fills the whole read', () => {
    expect(splitComplete(Buffer.from('a\nlast'), { final: true })).toEqual({
      lines: ['a', 'last'],
      consumed: 6,
    });
    expect(splitComplete(Buffer.from('xxxx'), { full: true })).toEqual({
      lines: ['xxxx'],
      consumed: 4,
    });
  });
  it('never splits a multi-byte character at a line end', () => {
    const s = splitComplete(Buffer.from('héllo\nwörld\n'));
    expect(s.lines).toEqual(['héllo', 'wörld']);
    expect(s.consumed).toBe(Buffer.byteLength('héllo\nwörld\n'));
  });
});

describe('offset tailing', () => {
  it('mirrors a file being written in odd pieces, resuming from saved offsets after a crash, with nothing lost or doubled', async () => {
    const src = path.join(dir, 'events.jsonl');
    fs.writeFileSync(src, '');
    const mirror = new Mirror(path.join(dir, 'mirror', 'events.jsonl'));
    const ch = new LocalChannel();
    // Saved state (what run.json would hold) and the live one.
    let saved = { offset: 0, mirrorBytes: 0, lines: 0 };
    let live = { ...saved };
    const expected: string[] = [];
    let pending = '';
    const step = async (max: number) => {
      const chunk = await ch.readFrom(src, live.offset, max);
      if (!chunk || chunk.length === 0) return;
      const s = splitComplete(chunk, { full: chunk.length === max });
      live = {
        offset: live.offset + s.consumed,
        mirrorBytes: live.mirrorBytes + mirror.append(s.lines),
        lines: live.lines + s.lines.length,
      };
    };
    for (let i = 0; i < 300; i++) {
      // Write a line in up to three pieces, with reads landing between the pieces.
      const line = JSON.stringify({ i, pad: 'x'.repeat(i % 37) });
      expected.push(line);
      pending += line + '\n';
      const cut = Math.min(pending.length, 1 + ((i * 7) % 23));
      fs.appendFileSync(src, pending.slice(0, cut));
      pending = pending.slice(cut);
      // Reads as the watcher does them, smaller here so most land mid-line (lines stay under the limit).
      await step(64 + ((i * 13) % 90));
      if (i % 50 === 49) {
        // Crash: the mirror got bytes the saved state does not know about. Restart from saved.
        saved = { ...saved };
        mirror.truncate(saved.mirrorBytes);
        live = { ...saved };
      } else if (i % 10 === 0) saved = { ...live };
    }
    fs.appendFileSync(src, pending);
    for (let guard = 0; live.offset < fs.statSync(src).size && guard < 10_000; guard++)
      await step(64);
    expect(fs.readFileSync(mirror.file, 'utf8')).toBe(fs.readFileSync(src, 'utf8'));
    expect(live.lines).toBe(300);
    expect(fs.readFileSync(mirror.file, 'utf8').split('\n').filter(Boolean)).toEqual(expected);
  });

  it('reads local mirrors by offset and from the end', () => {
    const f = path.join(dir, 'log.txt');
    fs.writeFileSync(f, Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n') + '\nhalf');
    expect(lastLinesOf(f, 3).lines).toEqual(['line 48', 'line 49', 'half']);
    const r = readLinesFrom(f, 0);
    expect(r.lines).toHaveLength(50);
    expect(readLinesFrom(f, r.offset).lines).toEqual([]);
  });
});
