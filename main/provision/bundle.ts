// The runtime bundle uploaded to nodes: native/spindle (without tests and caches) and
// resources/corpus, laid out as in the repository so the runtime finds the corpus the same way
// everywhere. Named by a hash of its content: a node that has that hash needs no upload.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../nodes/atomic';
import { tarGz, type TarEntry } from './tar';

/** Folders and files that are not part of the runtime (tests, caches, build leftovers). */
const SKIP_DIRS = new Set([
  'tests',
  'test',
  '__pycache__',
  '.pytest_cache',
  '.mypy_cache',
  '.ruff_cache',
  'build',
  'dist',
  '.ipynb_checkpoints',
]);
const SKIP_FILE = /(\.py[co]|\.egg-info|~|\.swp|\.DS_Store)$/;

/** The repository-relative roots that make up the bundle. */
export const BUNDLE_ROOTS = ['native/spindle', 'resources/corpus'];

export interface Bundle {
  hash: string;
  file: string;
  bytes: number;
  files: number;
}

function walk(root: string, rel: string, out: TarEntry[]) {
  const abs = path.join(root, rel);
  const st = fs.statSync(abs);
  if (st.isDirectory()) {
    out.push({ path: rel, type: 'dir', mode: 0o755 });
    for (const name of fs.readdirSync(abs).sort()) {
      if (name.startsWith('.') && name !== '.') continue;
      const child = path.posix.join(rel, name);
      const cst = fs.lstatSync(path.join(root, child));
      if (cst.isDirectory()) {
        if (!SKIP_DIRS.has(name)) walk(root, child, out);
      } else if (cst.isFile() && !SKIP_FILE.test(name)) {
        out.push({
          path: child,
          type: 'file',
          mode: cst.mode & 0o111 ? 0o755 : 0o644,
          data: fs.readFileSync(path.join(root, child)),
        });
      }
    }
  }
}

/** The bundle's entries and content hash, without writing anything. */
export function bundleEntries(resourcesDir: string): { entries: TarEntry[]; hash: string } {
  const entries: TarEntry[] = [];
  for (const root of BUNDLE_ROOTS) {
    if (!fs.existsSync(path.join(resourcesDir, root)))
      throw new Error(`the runtime bundle needs ${root} in ${resourcesDir}`);
    // Parent folders first so tar creates them with sane modes.
    const parts = root.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!entries.some((e) => e.path === dir))
        entries.push({ path: dir, type: 'dir', mode: 0o755 });
    }
    walk(resourcesDir, root, entries);
  }
  const h = crypto.createHash('sha256');
  for (const e of entries) {
    h.update(`${e.type}\0${e.path}\0${e.mode.toString(8)}\0`);
    if (e.data) h.update(crypto.createHash('sha256').update(e.data).digest());
  }
  return { entries, hash: h.digest('hex').slice(0, 24) };
}

/** Build (or reuse) <cacheDir>/<hash>.tar.gz. */
export function buildBundle(resourcesDir: string, cacheDir: string): Bundle {
  const { entries, hash } = bundleEntries(resourcesDir);
  const file = path.join(cacheDir, `${hash}.tar.gz`);
  if (!fs.existsSync(file)) {
    writeFileAtomicSync(file, tarGz(entries));
    // Older bundles are of no use once the runtime changed; keep the cache from growing.
    for (const f of fs.readdirSync(cacheDir))
      if (f.endsWith('.tar.gz') && f !== path.basename(file))
        fs.rmSync(path.join(cacheDir, f), { force: true });
  }
  return {
    hash,
    file,
    bytes: fs.statSync(file).size,
    files: entries.filter((e) => e.type === 'file').length,
  };
}
