// Terminals end to end: a local shell (node-pty on the host) in a tab of the Runs area's dock,
// driven by typing into xterm.js in Chromium.
import { expect, test } from './fixtures';
import type { Page } from '@playwright/test';

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
