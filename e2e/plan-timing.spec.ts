// The Plan area's speed budget in Chromium against a real `spindle serve`: from an edit in the
// editor to the updated layout table, for a 64-GPU cluster. Two figures per edit, both recorded
// by the page as the User Timing measure `spindle.plan.update`: milliseconds from the edit to
// React's commit of the new rows, and how many frames the table lagged the typed character.
import fs from 'node:fs';
import os from 'node:os';
import { TYPED_SEQ_LENS } from '../bench/typed-seq-lens';
import { formatSeqLen } from '../renderer/src/areas/plan/format';
import { expect, test } from './fixtures';
import { openExample, selectLine } from './plan-helpers';

// Playwright's trace snapshots the whole DOM around every action, on the page's main thread,
// right after the last keystroke of each burst: the measuring would slow what it measures.
test.use({ trace: 'off' });

test.describe('Plan area timing', () => {
  test("edit → updated table on a 64-GPU cluster: in the typed character's own frame, p50 within 16 ms", async ({
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
    for (const len of TYPED_SEQ_LENS) {
      await selectLine(page, 'seq_len:');
      await page.keyboard.type(`seq_len: ${len}`, { delay: 40 });
      await expect(page.getByTestId('layout-context')).toContainText(
        `${formatSeqLen(Number(len))} tokens`,
      );
    }
    const measures = await page.evaluate(() =>
      performance.getEntriesByName('spindle.plan.update').map((e) => ({
        ms: e.duration,
        framesLate: ((e as PerformanceMeasure).detail as { framesLate: number | null }).framesLate,
      })),
    );
    const samples = measures.map((m) => m.ms);
    // Served cross-origin isolated, the page reads the answer within frames and can tell.
    expect(measures.every((m) => m.framesLate !== null)).toBe(true);
    const ownFrame = measures.filter((m) => m.framesLate === 0).length / measures.length;
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
      own_frame: Number(ownFrame.toFixed(3)),
      gpus: 64,
      load_per_cpu: Number(loadPerCpu.toFixed(2)),
      cpus: os.cpus().length,
    };
    fs.writeFileSync(
      testInfo.outputPath('plan-update.json'),
      JSON.stringify({ ...figure, all: measures }, null, 2),
    );
    testInfo.annotations.push({ type: 'plan-update', description: JSON.stringify(figure) });
    console.log(`edit → updated table, 64 GPUs: ${JSON.stringify(figure)}`);
    // What the user sees: the table changes in the same frame as the typed character. Chromium
    // runs nothing but input and rendering between a key press and the next frame, so no answer
    // can be committed before that frame begins: the milliseconds include the wait for it, up to a
    // frame interval, and their p95 sits near 16.7 ms on any host (docs/plan-speed.md). The budget
    // is therefore held in frames: the table in the edit's own frame for 95 % of edits where the
    // host has the cores for it; on a small or loaded one, where the worker competes with the page
    // for a core, for 75 % (90-100 % measured on 2 cores, 72-86 % before the page looked again
    // after the frame's layout), with the figures recorded. Milliseconds: p50 within the 16 ms
    // budget everywhere, p95 within two frames as a regression guard.
    const quiet = loadPerCpu <= 1 && os.cpus().length >= 4;
    expect(ownFrame).toBeGreaterThanOrEqual(quiet ? 0.95 : 0.75);
    expect(figure.p50_ms).toBeLessThanOrEqual(16);
    expect(figure.p95_ms).toBeLessThanOrEqual(33);
    if (!quiet) {
      testInfo.annotations.push({
        type: 'own-frame-budget-relaxed',
        description: `${os.cpus().length} CPUs at load ${loadPerCpu.toFixed(1)} per CPU: own frame held to 75 %, recorded`,
      });
    }
  });
});
