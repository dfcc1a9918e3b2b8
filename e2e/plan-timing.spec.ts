// The Plan area's speed budget in Chromium against a real `spindle serve`: from an edit in the
// editor to the updated layout table, for a 64-GPU cluster. Three figures per edit, all recorded
// by the page in the User Timing measure `spindle.plan.update`: milliseconds from the edit to
// React's commit of the new rows, how much of that was the wait for the first frame after the edit
// (the baseline from the same run), and how many frames the table lagged the typed character.
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
  test("edit → updated table on a 64-GPU cluster: in the typed character's own frame, within 16 ms of that frame's start", async ({
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
      performance.getEntriesByName('spindle.plan.update').map((e) => {
        const d = (e as PerformanceMeasure).detail as {
          framesLate: number | null;
          frameWaitMs: number | null;
        };
        return { ms: e.duration, framesLate: d.framesLate, frameWaitMs: d.frameWaitMs };
      }),
    );
    const samples = measures.map((m) => m.ms);
    // Served cross-origin isolated, the page reads the answer within frames and can tell.
    expect(measures.every((m) => m.framesLate !== null && m.frameWaitMs !== null)).toBe(true);
    const ownFrame = measures.filter((m) => m.framesLate === 0).length / measures.length;
    // Edits made while the worker is busy collapse into one plan (measured from the oldest), so a
    // loaded machine yields fewer samples than keystrokes.
    expect(samples.length).toBeGreaterThanOrEqual(30);
    const quantile = (xs: number[], p: number) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
    };
    const q = (p: number) => quantile(samples, p);
    // The baseline from the same run: the wait for the first frame after each edit, which no
    // implementation that keeps typing unblocked can avoid (nothing else runs before it), and what
    // the table costs after it.
    const waits = measures.map((m) => m.frameWaitMs ?? Number.NaN);
    const afterFrame = measures.map((m) => m.ms - (m.frameWaitMs ?? Number.NaN));
    // The budget is wall-clock time on the machine the test runs on. A CI box whose cores are all
    // taken by other jobs stretches every step of the path (Monaco's keystroke, the worker, React)
    // by the same factor; there the figure is recorded but cannot speak for the app.
    const loadPerCpu = os.loadavg()[0] / os.cpus().length;
    const figure = {
      samples: samples.length,
      p50_ms: q(0.5),
      p95_ms: q(0.95),
      max_ms: quantile(samples, 1),
      frame_wait_p95_ms: quantile(waits, 0.95),
      after_frame_p50_ms: quantile(afterFrame, 0.5),
      after_frame_p95_ms: quantile(afterFrame, 0.95),
      p95_over_frame_wait_p95: Number((q(0.95) / quantile(waits, 0.95)).toFixed(2)),
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
    // frame interval, and their p95 sits near 16.7 ms on any host (docs/plan-speed.md). The page
    // records that wait per edit, so the app's own part is measured apart from it: from the first
    // frame's start to the committed table, p95 within the 16 ms budget. The budget is also held
    // in frames: the table in the edit's own frame for 95 % of edits. Both hold where the host has
    // the cores for it; on a small or loaded one, where the worker competes with the page for a
    // core, the figures are recorded and held to two frames and 75 % (own frame 90-100 % measured
    // on 2 cores). Milliseconds end to end: p50 within 16 ms everywhere, p95 within two frames.
    const quiet = loadPerCpu <= 1 && os.cpus().length >= 4;
    expect(ownFrame).toBeGreaterThanOrEqual(quiet ? 0.95 : 0.75);
    expect(figure.after_frame_p95_ms).toBeLessThanOrEqual(quiet ? 16 : 33);
    expect(figure.p50_ms).toBeLessThanOrEqual(16);
    expect(figure.p95_ms).toBeLessThanOrEqual(33);
    if (!quiet) {
      testInfo.annotations.push({
        type: 'own-frame-budget-relaxed',
        description: `${os.cpus().length} CPUs at load ${loadPerCpu.toFixed(1)} per CPU: own frame held to 75 % and the part after the first frame to 33 ms, recorded`,
      });
    }
  });
});
