import { defineConfig } from '@playwright/test';
import path from 'node:path';

// Local runs and test nodes train with the project's environment when nothing else is set (npm
// test sets SPINDLE_PYTHON itself; this covers running the suite directly).
// (Playwright loads this file as CommonJS, where scripts/python.mjs's import.meta is not available.)
if (!process.env.SPINDLE_PYTHON)
  process.env.SPINDLE_PYTHON = path.join(__dirname, '.venv', 'bin', 'python');

// The real UI in Debian's Chromium against a real `spindle serve`. No browser download.
export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  outputDir: 'test-results/e2e',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e.json' }]],
  use: {
    browserName: 'chromium',
    viewport: { width: 1440, height: 900 },
    launchOptions: {
      executablePath: process.env.SPINDLE_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
