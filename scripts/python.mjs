#!/usr/bin/env node
// Finds the Python that has PyTorch (SPINDLE_PYTHON, then Debian's /usr/bin/python3, then
// python3 on PATH) and runs it with the given arguments. `--print` prints its path instead.
import { spawnSync } from 'node:child_process';

export function findTorchPython() {
  const candidates = [process.env.SPINDLE_PYTHON, '/usr/bin/python3', 'python3', 'python'].filter(
    Boolean,
  );
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch, sys; print(torch.__version__)'], {
      encoding: 'utf8',
    });
    if (r.status === 0) return { python: py, torch: r.stdout.trim() };
  }
  return null;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const found = findTorchPython();
  if (!found) {
    process.stderr.write(
      'No Python with PyTorch found. On Debian: apt-get install python3-torch python3-pytest (or set SPINDLE_PYTHON).\n',
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
