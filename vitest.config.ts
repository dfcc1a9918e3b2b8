import { defineConfig } from 'vitest/config';
import { VENV_PYTHON } from './scripts/python.mjs';

// Local runs and test nodes train with the project's environment when nothing else is set (npm
// test sets SPINDLE_PYTHON itself; this covers running the suite directly).
if (!process.env.SPINDLE_PYTHON) process.env.SPINDLE_PYTHON = VENV_PYTHON;

export default defineConfig({
  test: {
    include: [
      'app/**/*.test.ts',
      'main/**/*.test.ts',
      'scripts/**/*.test.ts',
      'renderer/**/*.test.ts',
    ],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests that start sshd, network namespaces or runtimes must not trample each other.
    fileParallelism: true,
    pool: 'forks',
  },
});
