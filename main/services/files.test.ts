// The files service against a real temp folder, called through the host router so params and
// results are checked against the protocol contract exactly as a UI call would be.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HostMessage, ResultOf, RequestName, ParamsOf, WireError } from '../../app/protocol';
import { Connection, type Services } from '../host/router';
import type { HostContext } from '../host/context';
import { exampleTitle, filesServices, MAX_RECENT, resolveUserPath, writeAtomic } from './files';

const repoRoot = path.resolve(__dirname, '..', '..');
let tmp: string;
let ctx: HostContext;
let conn: Connection;
let replies: Map<number, HostMessage>;
let nextId = 1;

async function call<M extends RequestName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
  const id = nextId++;
  await conn.receive({ t: 'req', id, method, params });
  const m = replies.get(id);
  if (!m || m.t !== 'res') throw new Error(`no reply to ${method}`);
  if (!m.ok) throw Object.assign(new Error(m.error.message), { wire: m.error });
  return m.result as ResultOf<M>;
}
async function callError<M extends RequestName>(
  method: M,
  params: ParamsOf<M>,
): Promise<WireError> {
  try {
    await call(method, params);
  } catch (e) {
    return (e as { wire: WireError }).wire;
  }
  throw new Error(`${method} succeeded but should have failed`);
}

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-files-'));
  ctx = {
    version: 'test',
    door: 'serve',
    dataDir: path.join(tmp, 'data'),
    startedAt: Date.now(),
    resourcesDir: repoRoot,
  };
  const files = filesServices(ctx);
  replies = new Map();
  conn = new Connection(
    { requests: files.requests, streams: files.streams } as unknown as Services,
    'serve',
    (m) => {
      if ('id' in m) replies.set(m.id, m);
    },
  );
});
afterEach(() => {
  conn.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('files.read / files.write', () => {
  it('reads a file with its modification time and remembers it as recent', async () => {
    const file = path.join(tmp, 'a.yaml');
    fs.writeFileSync(file, 'version: 1\n');
    const r = await call('files.read', { path: file });
    expect(r).toEqual({ path: file, text: 'version: 1\n', modifiedAt: fs.statSync(file).mtimeMs });
    const recent = await call('files.recent', {});
    expect(recent).toEqual([{ path: file, name: 'a.yaml', modifiedAt: r.modifiedAt }]);
    // Persisted in the data dir, so a restarted host (a fresh service) still knows it.
    const again = filesServices(ctx);
    expect(
      await again.requests['files.recent'](
        {},
        { door: 'serve', signal: new AbortController().signal },
      ),
    ).toHaveLength(1);
  });

  it('names a missing file, a folder and a relative path precisely', async () => {
    expect(await callError('files.read', { path: path.join(tmp, 'nope.yaml') })).toMatchObject({
      code: 'not_found',
      field: 'path',
    });
    expect(await callError('files.read', { path: tmp })).toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('folder'),
    });
    expect(await callError('files.read', { path: 'relative/x.yaml' })).toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('absolute'),
    });
  });

  it('expands ~ to the home folder', () => {
    expect(resolveUserPath('~/x/y.yaml')).toBe(path.join(os.homedir(), 'x', 'y.yaml'));
    expect(resolveUserPath('  /a/../b.yaml ')).toBe('/b.yaml');
  });

  it('writes atomically, creates missing folders and reports the new time', async () => {
    const file = path.join(tmp, 'sub', 'dir', 'b.yaml');
    const w = await call('files.write', { path: file, text: 'name: b\n' });
    expect(fs.readFileSync(file, 'utf8')).toBe('name: b\n');
    expect(w.modifiedAt).toBe(fs.statSync(file).mtimeMs);
    // No temp files left next to it.
    expect(fs.readdirSync(path.dirname(file))).toEqual(['b.yaml']);
  });

  it('refuses to overwrite a file changed on disk since it was read, unless forced', async () => {
    const file = path.join(tmp, 'c.yaml');
    fs.writeFileSync(file, 'one\n');
    const r = await call('files.read', { path: file });
    // Another program edits the file; make sure the clock moved so mtimes differ.
    fs.writeFileSync(file, 'theirs\n');
    fs.utimesSync(file, new Date(), new Date(r.modifiedAt + 5000));
    const err = await callError('files.write', {
      path: file,
      text: 'mine\n',
      expectModifiedAt: r.modifiedAt,
    });
    expect(err).toMatchObject({
      code: 'failed',
      field: 'expectModifiedAt',
      message: expect.stringContaining('changed on disk'),
    });
    expect(fs.readFileSync(file, 'utf8')).toBe('theirs\n');
    await call('files.write', {
      path: file,
      text: 'mine\n',
      expectModifiedAt: r.modifiedAt,
      force: true,
    });
    expect(fs.readFileSync(file, 'utf8')).toBe('mine\n');
  });

  it('saves again with the time it got back from the last save', async () => {
    const file = path.join(tmp, 'd.yaml');
    const first = await call('files.write', { path: file, text: '1\n' });
    const second = await call('files.write', {
      path: file,
      text: '2\n',
      expectModifiedAt: first.modifiedAt,
    });
    expect(fs.readFileSync(file, 'utf8')).toBe('2\n');
    expect(second.modifiedAt).toBeGreaterThanOrEqual(first.modifiedAt);
  });

  it('keeps the permissions of the file it replaces', async () => {
    const file = path.join(tmp, 'e.yaml');
    fs.writeFileSync(file, 'x\n');
    fs.chmodSync(file, 0o600);
    await call('files.write', { path: file, text: 'y\n' });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('writeAtomic leaves the old file intact when the write fails', async () => {
    const file = path.join(tmp, 'f.yaml');
    fs.writeFileSync(file, 'old\n');
    await expect(writeAtomic(path.join(tmp, 'missing-dir', 'f.yaml'), 'new')).rejects.toThrow();
    expect(fs.readFileSync(file, 'utf8')).toBe('old\n');
  });
});

describe('files.recent', () => {
  it('lists most recent first, once each, bounded, skipping files that are gone', async () => {
    const paths = Array.from({ length: MAX_RECENT + 3 }, (_, i) => path.join(tmp, `r${i}.yaml`));
    for (const p of paths) fs.writeFileSync(p, 'x\n');
    for (const p of paths) await call('files.read', { path: p });
    await call('files.read', { path: paths[5] });
    fs.rmSync(paths[paths.length - 1]);
    const recent = await call('files.recent', {});
    expect(recent[0].path).toBe(paths[5]);
    expect(recent.filter((r) => r.path === paths[5])).toHaveLength(1);
    expect(recent.map((r) => r.path)).not.toContain(paths[paths.length - 1]);
    expect(recent.length).toBe(MAX_RECENT - 1);
  });

  it('starts afresh when the stored list is corrupt', async () => {
    fs.mkdirSync(ctx.dataDir, { recursive: true });
    fs.writeFileSync(path.join(ctx.dataDir, 'recent-files.json'), '{ not json');
    expect(await call('files.recent', {})).toEqual([]);
    const file = path.join(tmp, 'g.yaml');
    fs.writeFileSync(file, 'x\n');
    await call('files.read', { path: file });
    expect((await call('files.recent', {})).map((r) => r.path)).toEqual([file]);
  });

  it('does not lose entries when opens race', async () => {
    const paths = Array.from({ length: 6 }, (_, i) => path.join(tmp, `p${i}.yaml`));
    for (const p of paths) fs.writeFileSync(p, 'x\n');
    await Promise.all(paths.map((p) => call('files.read', { path: p })));
    expect((await call('files.recent', {})).map((r) => r.path).sort()).toEqual([...paths].sort());
  });
});

describe('files.examples', () => {
  it('serves the shipped examples unchanged, with titles from their first comment', async () => {
    const ex = await call('files.examples', {});
    expect(ex.map((e) => e.name)).toEqual([
      'llama3-8b-128k.yaml',
      'tiny-cpu.yaml',
      'two-nodes.yaml',
    ]);
    const llama = ex[0];
    expect(llama.text).toBe(
      fs.readFileSync(path.join(repoRoot, 'resources', 'examples', 'llama3-8b-128k.yaml'), 'utf8'),
    );
    expect(llama.title).toMatch(/^Planning example: .*Llama-3-8B/);
  });

  it('falls back to the file name for an example without a comment', () => {
    expect(exampleTitle('plain.yaml', 'version: 1\n')).toBe('plain');
  });
});
