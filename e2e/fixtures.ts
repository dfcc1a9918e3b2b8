// e2e fixtures: each test gets its own `spindle serve` (the built studio) with a throw-away
// data dir, and a page opened on the URL it printed.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test as base, expect, type Page } from '@playwright/test';

export const repoRoot = path.resolve(__dirname, '..');

export interface Studio {
  url: string;
  port: number;
  token: string;
  /** SPINDLE_HOME of this host: its node list, run index and settings. */
  home: string;
  /** Everything the host printed, for assertions and failure reports. */
  output(): string;
  /** Stop the host process (SIGTERM) and wait for it to exit. */
  stop(): Promise<void>;
  /** Start a new host process on the same home (a studio restart). */
  restart(): Promise<Studio>;
}

export async function startStudio(home: string, env: Record<string, string> = {}): Promise<Studio> {
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(repoRoot, 'bin', 'spindle.js'), 'serve', '--json'],
    {
      env: { ...process.env, SPINDLE_HOME: home, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stderr!.on('data', (d) => (log += String(d)));
  const first = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`spindle serve did not start:\n${log}`)),
      20_000,
    );
    child.stdout!.on('data', (d) => {
      buf += String(d);
      log += String(d);
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`spindle serve exited with ${code}:\n${log}`));
    });
  });
  const info = JSON.parse(first) as { url: string; port: number; token: string };
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
  const studio: Studio = {
    ...info,
    home,
    output: () => log,
    stop,
    restart: async () => {
      await stop();
      return startStudio(home, env);
    },
  };
  return studio;
}

export const test = base.extend<{ studio: Studio; studioPage: Page }>({
  studio: async ({}, use) => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-e2e-'));
    const studio = await startStudio(home);
    await use(studio);
    await studio.stop();
    fs.rmSync(home, { recursive: true, force: true });
  },
  studioPage: async ({ page, studio }, use) => {
    await page.goto(studio.url);
    await expect(page.getByTestId('connection-state')).toHaveText('Connected');
    await use(page);
  },
});

export { expect };
