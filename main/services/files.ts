// Host services for the files area: handlers for app/protocol/files.ts. Run configs are opened
// and saved by path (serve mode has no native dialog, so the UI always works with paths), every
// write is atomic (temp file + rename in the same folder), and the recent-files list lives in the
// data dir, written the same atomic way so a crash never leaves it half-written.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ProtocolError } from '../../app/protocol';
import type { filesRequests, filesStreams } from '../../app/protocol/files';
import type { HostContext } from '../host/context';
import type { AreaServices } from '../host/router';

/** Configs are a few KiB; anything this large is not one and would only clog the link. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;
export const MAX_RECENT = 12;
const RECENT_FILE = 'recent-files.json';

interface RecentEntry {
  path: string;
  openedAt: number;
}

/** "~/x" and absolute paths only: a relative path would depend on where the host was started. */
export function resolveUserPath(p: string): string {
  const trimmed = p.trim();
  const expanded =
    trimmed === '~' || trimmed.startsWith('~/')
      ? path.join(os.homedir(), trimmed.slice(1))
      : trimmed;
  if (!path.isAbsolute(expanded))
    throw new ProtocolError(
      'bad_request',
      `give an absolute path (or one starting with ~/): ${p}`,
      'path',
    );
  return path.normalize(expanded);
}

/** Write via a sibling temp file and rename, so readers see the old or the new file, never a torn one. */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`,
  );
  const handle = await fs.open(tmp, 'w', 0o644);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    // Keep the permissions of a file we replace (a config may be group-readable on purpose).
    const prev = await fs.stat(file).catch(() => null);
    if (prev) await fs.chmod(tmp, prev.mode & 0o7777);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

function fsError(e: unknown, file: string): ProtocolError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return new ProtocolError('not_found', `no such file: ${file}`, 'path');
  if (err.code === 'EISDIR')
    return new ProtocolError('bad_request', `${file} is a folder, not a file`, 'path');
  if (err.code === 'EACCES' || err.code === 'EPERM')
    return new ProtocolError('failed', `permission denied: ${file}`, 'path');
  return new ProtocolError('failed', `${file}: ${err.message}`, 'path');
}

/** The first comment line of an example is its title ("# Planning example: …"). */
export function exampleTitle(name: string, text: string): string {
  const first = text.split('\n', 1)[0] ?? '';
  const m = /^#\s*(.+?)\s*$/.exec(first);
  return m ? m[1] : name.replace(/\.ya?ml$/, '');
}

export function filesServices(
  ctx: HostContext,
): AreaServices<typeof filesRequests, typeof filesStreams> {
  const recentPath = path.join(ctx.dataDir, RECENT_FILE);
  // Requests may interleave (open one file while saving another); the list is updated one at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };

  async function loadRecent(): Promise<RecentEntry[]> {
    try {
      const data = JSON.parse(await fs.readFile(recentPath, 'utf8')) as unknown;
      if (!Array.isArray(data)) return [];
      return data.filter(
        (e): e is RecentEntry => typeof e?.path === 'string' && typeof e?.openedAt === 'number',
      );
    } catch {
      // Missing or unreadable (hand-edited, truncated by a full disk): start a fresh list.
      return [];
    }
  }

  const remember = (file: string) =>
    serial(async () => {
      const list = (await loadRecent()).filter((e) => e.path !== file);
      list.unshift({ path: file, openedAt: Date.now() });
      await fs.mkdir(ctx.dataDir, { recursive: true });
      await writeAtomic(recentPath, JSON.stringify(list.slice(0, MAX_RECENT), null, 2) + '\n');
    });

  return {
    requests: {
      'files.read': async ({ path: given }) => {
        const file = resolveUserPath(given);
        let stat;
        try {
          stat = await fs.stat(file);
        } catch (e) {
          throw fsError(e, file);
        }
        if (stat.isDirectory())
          throw fsError(Object.assign(new Error('is a directory'), { code: 'EISDIR' }), file);
        if (stat.size > MAX_FILE_BYTES)
          throw new ProtocolError(
            'bad_request',
            `${file} is ${stat.size} bytes; run configs are at most ${MAX_FILE_BYTES}`,
            'path',
          );
        let text: string;
        try {
          text = await fs.readFile(file, 'utf8');
        } catch (e) {
          throw fsError(e, file);
        }
        await remember(file);
        return { path: file, text, modifiedAt: stat.mtimeMs };
      },

      'files.write': async ({ path: given, text, expectModifiedAt, force }) => {
        const file = resolveUserPath(given);
        if (Buffer.byteLength(text, 'utf8') > MAX_FILE_BYTES)
          throw new ProtocolError(
            'bad_request',
            `the text is larger than ${MAX_FILE_BYTES} bytes`,
            'text',
          );
        const current = await fs.stat(file).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return null;
          throw fsError(e, file);
        });
        if (current?.isDirectory())
          throw fsError(Object.assign(new Error('is a directory'), { code: 'EISDIR' }), file);
        // Someone (an editor, git checkout) changed the file after we read it: do not clobber it
        // silently. A file that vanished since is not a conflict; writing recreates it.
        if (
          !force &&
          expectModifiedAt !== undefined &&
          current &&
          current.mtimeMs !== expectModifiedAt
        ) {
          throw new ProtocolError(
            'failed',
            `${file} changed on disk since it was opened (${new Date(current.mtimeMs).toISOString()})`,
            'expectModifiedAt',
          );
        }
        try {
          await fs.mkdir(path.dirname(file), { recursive: true });
          await writeAtomic(file, text);
        } catch (e) {
          throw fsError(e, file);
        }
        const after = await fs.stat(file);
        await remember(file);
        return { path: file, modifiedAt: after.mtimeMs };
      },

      'files.recent': async () => {
        const list = await serial(loadRecent);
        // Files deleted or moved since are left out of the answer but kept in the list: a
        // network share that is unmounted now may come back.
        const refs = await Promise.all(
          list.map(async (e) => {
            const stat = await fs.stat(e.path).catch(() => null);
            return stat?.isFile()
              ? { path: e.path, name: path.basename(e.path), modifiedAt: stat.mtimeMs }
              : null;
          }),
        );
        return refs.filter((r): r is NonNullable<typeof r> => r !== null);
      },

      'files.examples': async () => {
        const dir = path.join(ctx.resourcesDir, 'resources', 'examples');
        let names: string[];
        try {
          names = (await fs.readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
        } catch (e) {
          throw fsError(e, dir);
        }
        return Promise.all(
          names.map(async (name) => {
            const text = await fs.readFile(path.join(dir, name), 'utf8');
            return { name, title: exampleTitle(name, text), text };
          }),
        );
      },
    },
    streams: {},
  };
}
