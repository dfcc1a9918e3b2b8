// Checks on the built app that no other test covers: the sandboxed preload must be a single
// CommonJS file that requires nothing but electron (a sandbox cannot load anything else).
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { repoRoot } from './fixtures';

test('the preload bundle requires only electron and exposes only the protocol bridge', () => {
  const preload = fs.readFileSync(path.join(repoRoot, 'out', 'preload', 'index.js'), 'utf8');
  const required = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
  expect([...new Set(required)]).toEqual(['electron']);
  expect(preload).toContain('exposeInMainWorld("spindle"');
  expect(preload).not.toMatch(/exposeInMainWorld\([^)]*ipcRenderer\)/);
});
