import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalChannel } from '../nodes/local';
import { buildBundle } from './bundle';
import { ensureRuntime } from './runtime';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-bundle-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(root: string, rel: string, text: string, mode = 0o644) {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), text, { mode });
}

function fakeRepo(name: string) {
  const root = path.join(dir, name);
  write(root, 'native/spindle/__init__.py', '__version__ = "0"\n');
  write(root, 'native/spindle/train/loop.py', 'def train(): pass\n');
  write(root, 'native/spindle/tool.sh', '#!/bin/sh\n', 0o755);
  write(root, 'native/spindle/tests/test_x.py', 'def test(): pass\n');
  write(root, 'native/spindle/__pycache__/loop.cpython-311.pyc', 'bytecode');
  write(root, 'native/spindle/train/loop.pyc', 'bytecode');
  write(root, 'native/spindle/.pytest_cache/v', 'cache');
  write(root, 'native/tests/test_outside.py', 'not in the package');
  write(root, 'resources/corpus/sample.txt', 'The corpus.\n');
  write(root, 'resources/presets/models.json', '{}');
  return root;
}

describe('runtime bundle', () => {
  it('packs native/spindle without tests or caches plus resources/corpus, in the repository layout, readable by tar', () => {
    const root = fakeRepo('a');
    const b = buildBundle(root, path.join(dir, 'cache-a'));
    expect(path.basename(b.file)).toBe(`${b.hash}.tar.gz`);
    const listing = execFileSync('tar', ['-tzf', b.file])
      .toString()
      .split('\n')
      .filter(Boolean)
      .sort();
    expect(listing).toEqual([
      'native/',
      'native/spindle/',
      'native/spindle/__init__.py',
      'native/spindle/tool.sh',
      'native/spindle/train/',
      'native/spindle/train/loop.py',
      'resources/',
      'resources/corpus/',
      'resources/corpus/sample.txt',
    ]);
    const out = path.join(dir, 'x');
    fs.mkdirSync(out);
    execFileSync('tar', ['-xzf', b.file, '-C', out]);
    expect(fs.readFileSync(path.join(out, 'native/spindle/train/loop.py'), 'utf8')).toBe(
      'def train(): pass\n',
    );
    expect(fs.statSync(path.join(out, 'native/spindle/tool.sh')).mode & 0o111).not.toBe(0);
  });

  it('is named by its content: same files, same hash and bytes; any change, a new hash', () => {
    const a = buildBundle(fakeRepo('h1'), path.join(dir, 'c1'));
    const b = buildBundle(fakeRepo('h2'), path.join(dir, 'c2'));
    expect(b.hash).toBe(a.hash);
    expect(fs.readFileSync(b.file).equals(fs.readFileSync(a.file))).toBe(true);
    write(path.join(dir, 'h2'), 'native/spindle/__pycache__/other.pyc', 'changes nothing');
    expect(buildBundle(path.join(dir, 'h2'), path.join(dir, 'c2')).hash).toBe(a.hash);
    write(path.join(dir, 'h2'), 'resources/corpus/sample.txt', 'Another corpus.\n');
    expect(buildBundle(path.join(dir, 'h2'), path.join(dir, 'c2')).hash).not.toBe(a.hash);
  });

  it('installs on a node once per hash', async () => {
    const b = buildBundle(fakeRepo('n'), path.join(dir, 'cn'));
    const workdir = path.join(dir, 'node-work');
    const ch = new LocalChannel();
    const fractions: number[] = [];
    const first = await ensureRuntime(ch, b, workdir, (f) => fractions.push(f));
    expect(first).toEqual({ dir: path.join(workdir, 'runtime', b.hash), uploaded: true });
    expect(fractions.at(-1)).toBe(1);
    expect(fs.existsSync(path.join(first.dir, 'native/spindle/__init__.py'))).toBe(true);
    expect(fs.existsSync(path.join(first.dir, 'resources/corpus/sample.txt'))).toBe(true);
    expect(fs.readdirSync(path.join(workdir, 'runtime')).sort()).toEqual([
      b.hash,
      `${b.hash}.tar.gz`,
    ]);
    const again = await ensureRuntime(ch, b, workdir);
    expect(again.uploaded).toBe(false);
  });
});
