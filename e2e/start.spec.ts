// `npm start` on a machine without Electron's binary: it must fall back to `spindle serve`, print
// a URL, and that URL must load the studio in Chromium.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { repoRoot } from './fixtures';

test('npm start serves the studio and prints a URL that loads', async ({ page }) => {
  test.setTimeout(180_000);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-start-'));
  const child = spawn('npm', ['start'], {
    cwd: repoRoot,
    detached: true, // its own process group, so the whole tree stops at the end
    env: { ...process.env, SPINDLE_HOME: home, SPINDLE_SERVE: '1', BROWSER: 'none' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output}`)), 150_000);
      const onData = (d: Buffer) => {
        output += String(d);
        const m = /(http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${output}`)));
    });
    expect(output).toContain('opening the studio in a browser instead');
    await page.goto(url);
    await expect(page.getByTestId('connection-state')).toHaveText('Connected');
    await expect(page.getByTestId('host-version')).toContainText('serve');
  } finally {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
    fs.rmSync(home, { recursive: true, force: true });
  }
});
