#!/usr/bin/env node
// Finds the Python that runs the local runtime and the native tests: SPINDLE_PYTHON when set,
// else the project's environment (.venv/, made by scripts/setup.mjs from native/requirements.txt).
// Runs it with the given arguments; `--print` prints its path instead.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const VENV_PYTHON = path.join(root, '.venv', 'bin', 'python');
/** The oldest torch the runtime supports (native/spindle/check.py says the same to nodes). */
export const MIN_TORCH = [2, 4];

export function torchVersionOf(py) {
  const r = spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function supportedTorch(version) {
  const m = /^(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > MIN_TORCH[0] || (a === MIN_TORCH[0] && b >= MIN_TORCH[1]);
}

/** { python, torch } of the first candidate with a supported torch, or null. */
export function findTorchPython() {
  const candidates = [process.env.SPINDLE_PYTHON, VENV_PYTHON].filter(Boolean);
  for (const py of candidates) {
    if (py === VENV_PYTHON && !fs.existsSync(py)) continue;
    const torch = torchVersionOf(py);
    if (torch && supportedTorch(torch)) return { python: py, torch };
  }
  return null;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const found = findTorchPython();
  if (!found) {
    process.stderr.write(
      `No Python with torch >= ${MIN_TORCH.join('.')}: run \`npm test\` or \`npm start\` once (they create .venv/ from native/requirements.txt), or set SPINDLE_PYTHON.\n`,
    );
    process.exit(1);
  }
  const args = process.argv.slice(2);
  if (args[0] === '--print') {
    process.stdout.write(found.python + '\n');
    process.exit(0);
  }
  const r = spawnSync(found.python, args, { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
