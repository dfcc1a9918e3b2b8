// Terminals end to end: a local shell (node-pty on the host) in a tab of the Runs area's dock,
// driven by typing into xterm.js in Chromium.
import WebSocket from 'ws';
import { expect, test, type Studio } from './fixtures';
import { test as labTest } from './sshd';
import type { Page } from '@playwright/test';

/** One request to the host, as the UI makes them (test setup only). */
async function hostCall<T>(studio: Studio, method: string, params: object = {}): Promise<T> {
  const ws = new WebSocket(`ws://127.0.0.1:${studio.port}/ws?token=${studio.token}`);
  try {
    return await new Promise<T>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ t: 'req', id: 1, method, params })));
      ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as { ok: boolean; result?: T; error?: { message: string } };
        if (m.ok) resolve(m.result as T);
        else reject(new Error(m.error?.message));
      });
      ws.on('error', reject);
    });
  } finally {
    ws.close();
  }
}

async function openLocalShell(page: Page) {
  await page.keyboard.press('Control+3');
  await page.getByRole('button', { name: '+ Local shell' }).click();
  const tab = page.getByRole('tab', { name: /This computer/ });
  await expect(tab).toHaveAttribute('aria-selected', 'true');
  const term = page.locator('.dock-panel:not([hidden]) [data-testid=terminal]');
  await expect(term).toHaveAttribute('data-state', 'open');
  return term;
}

/** The terminal's visible lines, as text (xterm's DOM renderer draws one div per row). */
const rows = (page: Page) => page.locator('.dock-panel:not([hidden]) .xterm-rows > div');

test('a local terminal tab runs echo hello', async ({ studioPage: page }, testInfo) => {
  await openLocalShell(page);
  await page.keyboard.type('echo hello\n');
  // The output line itself, not the echoed command.
  await expect(rows(page).filter({ hasText: /^hello\s*$/ })).toHaveCount(1);
  await page.screenshot({ path: testInfo.outputPath('terminal.png') });
});

test('a flood of output neither freezes the page nor loses the shell, and resizing reaches the pty', async ({
  studioPage: page,
}) => {
  await openLocalShell(page);
  // About 6 MB as fast as the shell can print it.
  await page.keyboard.type('seq 1 800000; echo flood-$((40+2))\n');
  // While it runs, the page answers promptly: flow control keeps the backlog bounded.
  const worst = await page.evaluate(async () => {
    let max = 0;
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await new Promise((r) => setTimeout(r, 50));
      max = Math.max(max, performance.now() - t - 50);
    }
    return max;
  });
  expect(worst).toBeLessThan(1500);
  await expect(rows(page).filter({ hasText: /^flood-42\s*$/ })).toHaveCount(1, { timeout: 90_000 });
  await expect(rows(page).filter({ hasText: /^800000\s*$/ })).toHaveCount(1);

  // Taller dock (keyboard on the splitter): the shell learns the new size.
  await page.keyboard.type('clear; stty size\n');
  const before = await rows(page)
    .filter({ hasText: /^\d+ \d+\s*$/ })
    .first()
    .textContent();
  const handle = page.getByRole('separator', { name: 'Resize the terminals' });
  await handle.focus();
  for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowUp');
  await page.locator('.dock-panel:not([hidden]) .xterm').click();
  await page.keyboard.type('clear; stty size\n');
  await expect
    .poll(async () =>
      Number(
        (
          await rows(page)
            .filter({ hasText: /^\d+ \d+\s*$/ })
            .first()
            .textContent()
        )?.split(' ')[0],
      ),
    )
    .toBeGreaterThan(Number(before!.split(' ')[0]));
});

test('closing the tab ends the shell', async ({ studioPage: page }) => {
  await openLocalShell(page);
  await page.keyboard.type('echo pid=$$\n');
  const line = rows(page).filter({ hasText: /^pid=\d+\s*$/ });
  await expect(line).toHaveCount(1);
  const pid = Number((await line.textContent())!.trim().slice(4));
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  expect(alive()).toBe(true);
  await page.getByRole('button', { name: 'Close the terminal This computer' }).click();
  await expect(page.getByRole('tab', { name: /This computer/ })).toHaveCount(0);
  await expect.poll(alive, { timeout: 10_000 }).toBe(false);
});

labTest('a shell on a node runs over SSH in its own tab', async ({ page, lab }) => {
  const sshd = await lab.loopback('shellnode');
  lab.world.trust(sshd);
  const studio = await lab.studio();
  await hostCall(studio, 'nodes.add', {
    node: {
      name: 'shellnode',
      host: sshd.host,
      port: sshd.port,
      user: 'root',
      identityFile: lab.world.clientKey,
    },
    test: true,
  });
  await page.goto(studio.url);
  await expect(page.getByTestId('connection-state')).toHaveText('Connected');
  await page.keyboard.press('Control+3');
  await page.getByLabel('Open a shell on a node').selectOption('shellnode');
  await expect(page.getByRole('tab', { name: 'shellnode' })).toHaveAttribute(
    'aria-selected',
    'true',
  );
  await expect(page.locator('.dock-panel:not([hidden]) [data-testid=terminal]')).toHaveAttribute(
    'data-state',
    'open',
    { timeout: 30_000 },
  );
  // SSH_CONNECTION ends with the server's address and port: this shell came in through that sshd.
  await page.keyboard.type('echo "via=$SSH_CONNECTION"\n');
  await expect(
    rows(page).filter({ hasText: new RegExp(`^via=\\S+ \\d+ \\S+ ${sshd.port}\\s*$`) }),
  ).toHaveCount(1);
  await page.keyboard.type('exit\n');
  await expect(page.getByRole('tab', { name: /shellnode \(ended\)/ })).toBeVisible();
});
