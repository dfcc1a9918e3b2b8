// The Runs area end to end: the real studio (`spindle serve`), the real runtime (torchrun +
// `python -m spindle train` on this computer), Chromium driving the UI.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import WebSocket from 'ws';
import { expect, test, type Studio } from './fixtures';
import { test as labTest } from './sshd';
import type { Page } from '@playwright/test';

/** One request to the host over its WebSocket, as the UI makes them (for setup and cleanup only). */
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

interface Summary {
  id: string;
  status: string;
  lastStep: number | null;
  totalSteps: number | null;
}

/** Stops whatever a failed test left running, so the next test has the machine to itself. */
async function stopActiveRuns(studio: Studio) {
  const runs = await hostCall<Summary[]>(studio, 'runs.list').catch(() => []);
  for (const r of runs)
    if (['starting', 'running', 'stopping'].includes(r.status))
      await hostCall(studio, 'runs.stop', { id: r.id }).catch(() => {});
}

/** Runtime processes (torchrun and its ranks) whose command line names this run. */
function runtimeProcesses(runId: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .filter((l) => l.includes(runId) && /torchrun|spindle|python/.test(l) && !/\bps -eo\b/.test(l));
}

async function openRuns(page: Page) {
  await page.keyboard.press('Control+3');
  await expect(page.locator('main.area')).toHaveAttribute('data-area', 'runs');
}

/** The tiny CPU example with fewer steps (a 2-core machine runs it in well under a minute). */
async function prepareTiny(page: Page, steps: number, name?: string) {
  await page.getByRole('button', { name: '+ New run' }).click();
  await page.getByLabel('Example config').selectOption({ label: 'tiny-cpu' });
  const editor = page.getByLabel('Run config (YAML)');
  await expect(editor).toHaveValue(/steps: 30/);
  let text = (await editor.inputValue()).replace(/steps: 30\b/, `steps: ${steps}`);
  if (name) text = text.replace(/^name: .*$/m, `name: ${name}`);
  await editor.fill(text);
  await expect(page.getByTestId('config-validation')).toContainText(`${steps} steps`);
}

async function launch(page: Page): Promise<string> {
  await page.getByRole('button', { name: 'Launch on this computer' }).click();
  const view = page.locator('section.run-view');
  await expect(view).toBeVisible({ timeout: 60_000 });
  return (await view.getAttribute('data-run-id'))!;
}

test.describe('on this computer', () => {
  test.afterEach(async ({ studio }) => {
    await stopActiveRuns(studio);
  });

  test('launch the tiny example on this computer: live loss chart, run succeeds', async ({
    studioPage: page,
  }, testInfo) => {
    test.setTimeout(180_000); // four torch 2.x processes start on two cores
    await openRuns(page);
    // A fresh studio has no runs: the launch panel is what shows.
    await expect(page.getByText('No runs yet')).toBeVisible();
    // Long enough to watch: with the CPU flash kernel a tiny step takes about 0.2 s.
    await prepareTiny(page, 120);
    await expect(page.getByRole('radio', { name: /This computer/ })).toBeChecked();

    // The exact commands and environment, before anything starts.
    await page.getByRole('button', { name: 'Preview commands' }).click();
    const preview = page.getByTestId('launch-preview');
    await expect(preview).toContainText('-m torch.distributed.run');
    await expect(preview.getByText(/Environment \(\d+ variables?\)/)).toBeVisible();

    const runId = await launch(page);
    const chart = page.getByTestId('chart-loss');
    const status = page.locator('.run-view [data-testid=run-status]');

    // Watch the chart while the run trains: every new point count seen, and for each how long
    // after the runtime stamped the step the page had it in the DOM (the chart writes that down).
    const seen = new Set<number>();
    const lags: number[] = [];
    const deadline = Date.now() + 110_000;
    for (;;) {
      const { points, lag, st } = await page.evaluate(() => {
        const c = document.querySelector('[data-testid=chart-loss]');
        const s = document.querySelector('.run-view [data-testid=run-status]');
        return {
          points: Number(c?.getAttribute('data-points') ?? 0),
          lag: c?.getAttribute('data-lag-ms'),
          st: s?.getAttribute('data-status'),
        };
      });
      const finished = st === 'succeeded' || st === 'failed' || st === 'stopped';
      if (!finished && points > 0 && !seen.has(points)) {
        seen.add(points);
        if (lag) lags.push(Number(lag));
      }
      if (finished || Date.now() > deadline) break;
      await page.waitForTimeout(100);
    }
    await expect(status).toHaveAttribute('data-status', 'succeeded');
    expect(
      seen.size,
      `chart updates seen while running: ${[...seen].join(', ')}`,
    ).toBeGreaterThanOrEqual(3);
    await expect(chart).toHaveAttribute('data-points', '120');
    const first = Number(await chart.getAttribute('data-first'));
    const last = Number(await chart.getAttribute('data-last'));
    expect(last).toBeLessThan(first);
    lags.sort((a, b) => a - b);
    const median = lags[lags.length >> 1];
    testInfo.annotations.push({
      type: 'event-to-chart latency (ms)',
      description: `median ${median}, max ${lags.at(-1)} over ${lags.length} updates: ${lags.join(' ')}`,
    });
    console.log(`event-to-chart latency (ms): median ${median}, all ${lags.join(' ')}`);

    // The run list agrees, with its last loss.
    const row = page.locator(`[data-testid=runs-list] li[data-run-id="${runId}"]`);
    await expect(row).toHaveAttribute('data-status', 'succeeded');
    await expect(row.locator('.run-loss')).not.toBeEmpty();
    await page.screenshot({ path: testInfo.outputPath('run-succeeded.png'), fullPage: false });
    expect(runtimeProcesses(runId)).toEqual([]);

    // Hovering the loss chart reads exact values at that step.
    const plot = chart.locator('.chart-plot');
    const box = (await plot.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.5);
    const card = page.locator('.hovercard');
    await expect(card).toContainText(/step \d+/);
    await expect(card.locator('.hovercard-value').first()).toHaveText(/^\d+\.\d+$/);

    // Measured next to predicted: memory per rank, term by term.
    const memory = page.getByTestId('chart-memory');
    await memory.scrollIntoViewIfNeeded();
    const compare = memory.getByTestId('plan-compare');
    await expect(compare.locator('tr.plan-compare-row').first()).toBeVisible();
    // Model states are predicted exactly on CPU; the comparison says so for the weights.
    await expect(
      compare.locator('tr.plan-compare-row', { hasText: /^\s*weights/ }).first(),
    ).toHaveAttribute('data-status', 'ok');
    // The chart's reference is the planner's allocated peak, like the lines; the per-process
    // figure with fixed costs is named beside it.
    await expect(memory.getByTestId('memory-predicted')).toHaveText(
      /^predicted [\d.]+ [KMG]iB allocated · [\d.]+ [KMG]iB per process with fixed costs$/,
    );
    await page.screenshot({ path: testInfo.outputPath('run-memory.png') });

    // A second, shorter run from the same config ("Launch again"), overlaid on the first.
    await page.getByRole('button', { name: 'Launch again…' }).click();
    const editor = page.getByLabel('Run config (YAML)');
    await editor.fill(
      (await editor.inputValue())
        .replace(/steps: 40\b/, 'steps: 12')
        .replace(/^name: .*$/m, 'name: tiny-again')
        .replace(/lr: [0-9.e-]+/, 'lr: 1.0e-3'),
    );
    const againId = await launch(page);
    await expect(page.locator('.run-view [data-testid=run-status]')).toHaveAttribute(
      'data-status',
      'succeeded',
      { timeout: 100_000 },
    );
    await page.getByRole('checkbox', { name: new RegExp(`^Compare tiny-llama-cpu`) }).check();
    const legend = page.getByRole('list', { name: 'Runs on the charts' });
    await expect(legend.getByRole('listitem')).toHaveCount(2);
    await expect(legend).toContainText('tiny-again');
    await expect(legend).toContainText('tiny-llama-cpu');
    const box2 = (await plot.boundingBox())!;
    await page.mouse.move(box2.x + box2.width * 0.3, box2.y + box2.height * 0.5);
    await expect(card.locator('.hovercard-row')).toHaveCount(2);
    await page.screenshot({ path: testInfo.outputPath('runs-compared.png') });
    expect(againId).not.toBe(runId);
  });

  test('stop a running run from the UI: it ends stopped and leaves no runtime process', async ({
    studioPage: page,
  }) => {
    // Four torch 2.x processes start on two cores, and the first step is the measured one.
    test.setTimeout(240_000);
    await openRuns(page);
    await prepareTiny(page, 2000, 'tiny-to-stop');
    const runId = await launch(page);
    const chart = page.getByTestId('chart-loss');
    // Training, not just starting: a few steps on the chart.
    await expect
      .poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 90_000 })
      .toBeGreaterThanOrEqual(2);
    expect(runtimeProcesses(runId).length).toBeGreaterThan(0);

    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Stop this run?' });
    await expect(dialog).toBeVisible();
    // Cancel is the safe default.
    await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await dialog.getByRole('button', { name: 'Stop run' }).click();

    await expect(page.locator('.run-view [data-testid=run-status]')).toHaveAttribute(
      'data-status',
      'stopped',
      { timeout: 120_000 },
    );
    await expect.poll(() => runtimeProcesses(runId), { timeout: 20_000 }).toEqual([]);
    const steps = Number(await chart.getAttribute('data-points'));
    expect(steps).toBeLessThan(2000);

    // A finished run's record can be deleted; the dialog says the node's files stay.
    await page.getByRole('button', { name: 'Delete record' }).click();
    const del = page.getByRole('dialog', { name: "Delete this run's record?" });
    await expect(del).toContainText('are kept');
    await del.getByRole('button', { name: 'Delete record' }).click();
    await expect(page.locator(`[data-testid=runs-list] li[data-run-id="${runId}"]`)).toHaveCount(0);
  });

  test('restart the host mid-run: the run view reattaches and the chart has every step', async ({
    studioPage: page,
    studio,
  }, testInfo) => {
    await openRuns(page);
    await prepareTiny(page, 60, 'tiny-across-restart');
    const runId = await launch(page);
    const chart = page.getByTestId('chart-loss');
    await expect
      .poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 90_000 })
      .toBeGreaterThanOrEqual(3);

    const next = await studio.restart();
    try {
      // The link to the old host is gone; the UI says so.
      await expect(page.getByTestId('connection-state')).not.toHaveText('Connected');
      await page.goto(next.url);
      await expect(page.getByTestId('connection-state')).toHaveText('Connected');
      await openRuns(page);
      // The new host reattached to the run; the studio opens it again.
      const view = page.locator(`section.run-view[data-run-id="${runId}"]`);
      await expect(view).toBeVisible();
      await expect(view.locator('[data-testid=run-status]')).toHaveAttribute(
        'data-status',
        'succeeded',
        { timeout: 100_000 },
      );
      // Every step, once: 60 points and the last is step 60 (steps only grow, so none is missing).
      const chart2 = page.getByTestId('chart-loss');
      await expect(chart2).toHaveAttribute('data-points', '60');
      await expect(chart2).toHaveAttribute('data-last-step', '60');
      await page.screenshot({ path: testInfo.outputPath('after-restart.png') });
    } finally {
      await stopActiveRuns(next);
      await next.stop();
    }
  });
});

labTest.describe('on two nodes over SSH', () => {
  labTest(
    "a run on the two network-namespace nodes shows both nodes' logs with their prefixes",
    async ({ page, lab }, testInfo) => {
      labTest.setTimeout(240_000);
      const pair = await lab.twoNodes(['node-a', 'node-b']);
      const studio = await lab.studio();
      try {
        // Setup, not under test here: the nodes as the Nodes area would save them, keys trusted.
        for (const n of pair.nodes) {
          lab.world.trust(n.sshd);
          await hostCall(studio, 'nodes.add', {
            node: {
              name: n.name,
              host: n.sshd.host,
              port: n.sshd.port,
              user: 'root',
              identityFile: lab.world.clientKey,
              workdir: n.workdir,
            },
            test: true,
          });
        }
        await page.goto(studio.url);
        await expect(page.getByTestId('connection-state')).toHaveText('Connected');
        await openRuns(page);
        await page.getByRole('button', { name: '+ New run' }).click();
        await page.getByLabel('Example config').selectOption({ label: 'two-nodes' });
        const editor = page.getByLabel('Run config (YAML)');
        await editor.fill((await editor.inputValue()).replace(/steps: 20\b/, 'steps: 8'));
        await expect(page.getByTestId('config-validation')).toContainText(
          '2 nodes × 2 processes · 8 steps',
        );
        // The config names its hosts: the target is those nodes.
        await expect(page.getByRole('radio', { name: /Nodes/ })).toBeChecked();
        await expect(page.getByRole('checkbox', { name: 'node-a' })).toBeChecked();
        await expect(page.getByRole('checkbox', { name: 'node-b' })).toBeChecked();

        await page.getByRole('button', { name: 'Preview commands' }).click();
        const preview = page.getByTestId('launch-preview');
        await expect(preview.getByLabel('Command on node-a')).toContainText('--node_rank 0');
        await expect(preview.getByLabel('Command on node-b')).toContainText('--node_rank 1');

        await page.getByRole('button', { name: 'Launch on node-a, node-b' }).click();
        // Progress for every step, per node where it applies.
        const progress = page.getByTestId('launch-progress');
        await expect(
          progress.locator('li.p-done .p-node', { hasText: 'node-b' }).first(),
        ).toBeVisible({ timeout: 120_000 });
        const view = page.locator('section.run-view');
        await expect(view).toBeVisible({ timeout: 120_000 });
        const runId = (await view.getAttribute('data-run-id'))!;
        await expect(view.locator('[data-testid=run-status]')).toHaveAttribute(
          'data-status',
          'succeeded',
          { timeout: 150_000 },
        );
        await expect(page.getByTestId('chart-loss')).toHaveAttribute('data-points', '8');

        await page.getByRole('tab', { name: 'Logs' }).click();
        const logs = page.getByTestId('run-logs');
        await expect(logs.locator('.xterm-rows')).toContainText('node-a/r', { timeout: 30_000 });
        // Everything received, as a file: lines from both nodes and their ranks, each prefixed.
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.getByRole('button', { name: 'Download' }).click(),
        ]);
        const text = fs.readFileSync((await download.path())!, 'utf8');
        expect(download.suggestedFilename()).toMatch(/\.log$/);
        for (const origin of ['node-a/r0', 'node-a/r1', 'node-b/r2', 'node-b/r3'])
          expect(text).toContain(`[${origin}] `);
        // Search: every rank logged the end of the run; Enter walks the matches.
        const search = page.getByLabel('Search logs');
        await search.fill('run succeeded');
        await search.press('Enter');
        await expect(page.getByRole('toolbar', { name: 'Log tools' })).toContainText(
          /\d+ of [4-9]\d*/,
        );
        await expect(page.getByRole('button', { name: 'Follow' })).toHaveAttribute(
          'aria-pressed',
          'false',
        );
        await page.getByRole('button', { name: 'Follow' }).click();
        await expect(page.getByRole('button', { name: 'Follow' })).toHaveAttribute(
          'aria-pressed',
          'true',
        );
        // Only node-b's lines when filtered to it.
        await page.getByLabel('Filter by node').selectOption('node-b');
        await expect(logs.locator('.xterm-rows')).toContainText('node-b/r');
        await expect(logs.locator('.xterm-rows')).not.toContainText('node-a/');
        await page.getByLabel('Filter by node').selectOption('');
        await page.screenshot({ path: testInfo.outputPath('two-nodes-logs.png') });
        expect(runtimeProcesses(runId)).toEqual([]);
      } finally {
        await stopActiveRuns(studio);
      }
    },
  );
});
