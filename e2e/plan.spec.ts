// The Plan area in Chromium against a real `spindle serve`: the editor, the planner worker, the
// table and charts, the quick controls, open/save through the host, and the edit-to-table budget.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Locator } from '@playwright/test';
import { expect, repoRoot, test } from './fixtures';
import { editorText, openExample, rows, selectLine, table } from './plan-helpers';

const EXAMPLE = fs.readFileSync(
  path.join(repoRoot, 'resources', 'examples', 'llama3-8b-128k.yaml'),
  'utf8',
);

async function tokensPerSecond(row: Locator): Promise<number> {
  const text = await row.locator('td').nth(8).innerText();
  const m = /([\d.]+)([kMB]?) tok\/s/.exec(text);
  if (!m) throw new Error(`no tokens/s in "${text}"`);
  return Number(m[1]) * ({ '': 1, k: 1e3, M: 1e6, B: 1e9 } as Record<string, number>)[m[2]];
}

test.describe('Plan area', () => {
  test('the Llama-3-8B 128k example: feasible layouts best first, stacked memory with the capacity line', async ({
    studioPage: page,
  }, testInfo) => {
    await openExample(page, 'llama3-8b-128k.yaml');
    await expect(page.getByTestId('doc-name')).toContainText('llama3-8b-128k.yaml');
    await expect(page.getByTestId('doc-name')).toContainText('not saved');
    expect(await editorText(page)).toContain('preset: llama-3-8b');

    const n = await rows(page).count();
    expect(n).toBeGreaterThan(3);
    // Only feasible rows while the toggle is off, ranked 1..n in order.
    await expect(table(page).locator('tbody tr[data-feasible=false]')).toHaveCount(0);
    const ranks = await rows(page).locator('td:first-child').allInnerTexts();
    expect(ranks.map(Number)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    // Best first: the planner ranks by seconds per trained token, so throughput never rises down the table.
    const tps = await Promise.all(
      Array.from({ length: n }, (_, i) => tokensPerSecond(rows(page).nth(i))),
    );
    for (let i = 1; i < tps.length; i++) expect(tps[i]).toBeLessThanOrEqual(tps[i - 1] * 1.01);
    // The best layout is selected and detailed.
    await expect(rows(page).first()).toHaveAttribute('aria-selected', 'true');
    await expect(page.getByTestId('layout-detail')).toContainText('fits');

    // Memory chart: one stacked bar per layout, a band per memory term, and the capacity line.
    const chart = page.getByTestId('memory-chart');
    await expect(chart).toBeVisible();
    for (const band of ['weights', 'optimizer', 'activations', 'fixed']) {
      await expect(chart.locator(`.mem-${band} .recharts-rectangle`).first()).toBeVisible();
    }
    expect(await chart.locator('.mem-weights .recharts-rectangle').count()).toBe(Math.min(n, 12));
    // (an SVG line has an empty box, so "visible" does not apply: check it is drawn across the plot)
    const capacity = chart.locator('.capacity-line line');
    await expect(capacity).toHaveCount(1);
    expect(
      Number(await capacity.getAttribute('x2')) - Number(await capacity.getAttribute('x1')),
    ).toBeGreaterThan(200);
    await expect(chart).toContainText(/capacity 79\.\d GiB/);
    // The sweep marks the selected layout's longest sequence.
    await expect(page.getByTestId('max-seq')).toContainText(/fits up to .*tokens/);
    await expect(
      page.getByTestId('comm-chart').locator('.recharts-rectangle').first(),
    ).toBeVisible();

    await page.screenshot({ path: testInfo.outputPath('plan-light.png') });

    // Sortable: peak memory ascending, then descending; '#' goes back to the planner's order.
    const memHeader = table(page).getByRole('columnheader', { name: /Peak memory/ });
    await memHeader.getByRole('button').click();
    await expect(memHeader).toHaveAttribute('aria-sort', 'ascending');
    const gib = async () =>
      (await rows(page).locator('td:nth-child(7)').allInnerTexts()).map((t) =>
        Number(/([\d.]+) GiB/.exec(t)![1]),
      );
    const up = await gib();
    expect(up).toEqual([...up].sort((a, b) => a - b));
    await memHeader.getByRole('button').click();
    await expect(memHeader).toHaveAttribute('aria-sort', 'descending');
    const down = await gib();
    expect(down).toEqual([...down].sort((a, b) => b - a));
    await table(page).getByRole('columnheader', { name: '#' }).getByRole('button').click();
    expect((await rows(page).locator('td:first-child').allInnerTexts()).map(Number)).toEqual(
      ranks.map(Number),
    );
    await page.keyboard.press('Control+Shift+L');
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
    // Monaco follows the app theme.
    await expect(page.locator('[data-testid=config-editor] .monaco-editor')).toHaveClass(/vs-dark/);
    await page.screenshot({ path: testInfo.outputPath('plan-dark.png') });
  });

  test('Launch… hands the config to the Runs area, which previews it before anything starts', async ({
    studioPage: page,
  }) => {
    await openExample(page, 'tiny-cpu.yaml');
    await page.getByTestId('plan-launch').click();
    await expect(page.locator('main.area')).toHaveAttribute('data-area', 'runs');
    await expect(page.getByText('from Plan')).toBeVisible();
    await expect(page.getByLabel('Run config (YAML)')).toHaveValue(/name: tiny-llama-cpu/);
  });

  test('typing seq_len: 1048576 replans within a second; infeasible layouts say how much memory they lack', async ({
    studioPage: page,
  }) => {
    await openExample(page, 'llama3-8b-128k.yaml');
    const before = await table(page).locator('tbody').innerText();
    await selectLine(page, 'seq_len: 131072');
    await page.keyboard.type('seq_len: 1048576');
    const typedAt = Date.now();
    await page.keyboard.press('Escape');
    await expect
      .poll(() => table(page).locator('tbody').innerText(), { timeout: 1000, intervals: [50] })
      .not.toBe(before);
    await expect(page.getByTestId('layout-context')).toContainText('1M tokens', { timeout: 1000 });
    expect(Date.now() - typedAt).toBeLessThan(1000);
    await expect(page.getByTestId('layout-table')).toBeVisible();
    await expect(page.locator('[data-testid=quick-controls] [data-testid=seq-input]')).toHaveValue(
      '1M',
    );

    await page.getByTestId('show-infeasible').check();
    const infeasible = table(page).locator('tbody tr[data-feasible=false]');
    await expect(infeasible.first()).toBeVisible();
    const reasons = await infeasible.getByTestId('layout-reasons').allInnerTexts();
    expect(
      reasons.some((r) => /needs [\d.]+ GiB per GPU, .* more than the [\d.]+ GiB/.test(r)),
    ).toBe(true);
  });

  test('ulysses: 3 on a 32-head model is infeasible, with the reason inline in the editor and the table', async ({
    studioPage: page,
  }) => {
    await openExample(page, 'llama3-8b-128k.yaml');
    await selectLine(page, 'ulysses: auto');
    await page.keyboard.type('ulysses: 3');
    await page.keyboard.press('Escape');
    await expect(page.getByTestId('layout-counts')).toContainText('0 fit');
    await expect(page.getByTestId('no-fit-reasons')).toContainText(
      "32 attention heads can't be split evenly over ulysses 3",
    );
    // The editor puts the reason on the line that caused it, as a warning.
    const warn = page.locator('[data-testid=config-editor] .squiggly-warning');
    await expect(warn.first()).toBeVisible();
    await page
      .locator('[data-testid=config-editor] .view-line', { hasText: 'ulysses: 3' })
      .locator('span', { hasText: '3' })
      .last()
      .hover();
    await expect(
      page.locator('.monaco-hover').filter({ hasText: 'ulysses 3' }).first(),
    ).toBeVisible();
    // The quick control shows the hand-typed value.
    await expect(page.getByTestId('ulysses-select')).toHaveValue('3');
  });

  test('broken YAML: the editor marks the line and the last good plan stays', async ({
    studioPage: page,
  }) => {
    await openExample(page, 'llama3-8b-128k.yaml');
    const before = await table(page).locator('tbody').innerText();
    await selectLine(page, 'ring: auto');
    await page.keyboard.type('ring: auto: x');
    await page.keyboard.press('Escape');
    await expect(page.locator('[data-testid=config-editor] .squiggly-error').first()).toBeVisible();
    const problems = page.getByTestId('problems');
    await expect(problems).toContainText('Line 14');
    await expect(problems).toContainText('last good plan');
    await expect(page.getByTestId('stale-banner')).toBeVisible();
    expect(await table(page).locator('tbody').innerText()).toBe(before);
    // Controls refuse to edit a document they cannot parse, and say why.
    await expect(page.getByTestId('preset-select')).toBeDisabled();
    // Fixing it brings the live plan back.
    await selectLine(page, 'ring: auto: x');
    await page.keyboard.type('ring: auto');
    await page.keyboard.press('Escape');
    await expect(page.getByTestId('stale-banner')).toBeHidden();
    await expect(page.locator('[data-testid=config-editor] .squiggly-error')).toHaveCount(0);
  });

  test('the preset control rewrites the YAML and back, byte for byte; save, reopen from recent, conflict check', async ({
    studioPage: page,
    studio,
  }) => {
    await openExample(page, 'llama3-8b-128k.yaml');
    const params = page.getByTestId('model-summary');
    await expect(params).toContainText('8.03B params');
    await page.getByTestId('preset-select').selectOption('qwen2.5-7b');
    await expect.poll(() => editorText(page)).toContain('preset: qwen2.5-7b');
    expect(await editorText(page)).toContain('# Planning example');
    await expect(params).toContainText('28 layers');
    await page.getByTestId('preset-select').selectOption('llama-3-8b');
    await expect.poll(() => editorText(page)).toContain('preset: llama-3-8b');
    await expect(params).toContainText('32 layers');

    // Save as: the file on disk is the example, unchanged by the round trip.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-plan-'));
    const file = path.join(dir, 'sub', 'llama.yaml');
    await page.keyboard.press('Control+Shift+S');
    await page.getByTestId('save-path').fill(file);
    await page.getByTestId('save-path').press('Enter');
    await expect(page.getByTestId('plan-notice')).toContainText(`Saved ${file}`);
    expect(fs.readFileSync(file, 'utf8')).toBe(EXAMPLE);
    await expect(page.getByTestId('doc-name')).toContainText('llama.yaml');

    // The slider is a control like the others: 256k, written into the YAML, the doc is dirty.
    await page.getByTestId('seq-input').fill('256k');
    await page.getByTestId('seq-input').press('Enter');
    await expect.poll(() => editorText(page)).toContain('seq_len: 262144');
    await expect(page.locator('.dirty')).toBeVisible();

    // Someone else changes the file: saving refuses to overwrite it until told to.
    fs.writeFileSync(file, 'theirs\n');
    const future = new Date(Date.now() + 60_000);
    fs.utimesSync(file, future, future);
    await page.locator('[data-testid=config-editor] .view-line').first().click();
    await page.keyboard.press('Control+s');
    await expect(page.getByTestId('plan-notice')).toContainText('changed on disk');
    expect(fs.readFileSync(file, 'utf8')).toBe('theirs\n');
    await page.getByRole('button', { name: 'Overwrite' }).click();
    await expect(page.getByTestId('plan-notice')).toContainText('Saved');
    expect(fs.readFileSync(file, 'utf8')).toContain('seq_len: 262144');
    await expect(page.locator('.dirty')).toHaveCount(0);

    // After a reload the draft comes back, and the file is in the recent list of the open dialog.
    await page.reload();
    await expect(page.getByTestId('connection-state')).toHaveText('Connected');
    await expect(page.getByTestId('doc-name')).toContainText('llama.yaml');
    await page.keyboard.press('Control+o');
    await expect(page.getByTestId('recent-file').first()).toContainText(file);
    await page.getByTestId('open-path').fill(file);
    await page.getByTestId('open-path').press('Enter');
    await expect(page.getByTestId('open-dialog')).toBeHidden();
    await expect.poll(() => editorText(page)).toContain('seq_len: 262144');
    expect(fs.readFileSync(path.join(studio.home, 'recent-files.json'), 'utf8')).toContain(file);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('keyboard: focus the table, move, select, and write the layout into the YAML', async ({
    studioPage: page,
  }) => {
    await openExample(page, 'llama3-8b-128k.yaml');
    await page.locator('[data-testid=config-editor] .view-line').first().click();
    await page.keyboard.press('Alt+l');
    await expect(table(page)).toBeFocused();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const third = rows(page).nth(2);
    await expect(third).toHaveAttribute('aria-selected', 'true');
    const layout = (await third.locator('td').nth(1).innerText()).trim();
    const [u, r] = layout.split('×').map((s) => Number(s.trim()));
    await expect(page.getByTestId('layout-detail')).toContainText(`ulysses ${u} × ring ${r}`);
    await page.keyboard.press('u');
    await expect.poll(() => editorText(page)).toContain(`ulysses: ${u}`);
    expect(await editorText(page)).toContain(`ring: ${r}`);
    // The same layout, now fixed in the config, is the only one left and stays selected.
    await expect(page.getByTestId('layout-counts')).toContainText('1 fit');
    await expect(rows(page).first()).toHaveAttribute('aria-selected', 'true');
    // Undo in the editor takes the whole change back in one step.
    await page.keyboard.press('Alt+e');
    await page.keyboard.press('Control+z');
    await expect.poll(() => editorText(page)).toContain('ulysses: auto');
  });

  test('import a Hugging Face config.json as the architecture', async ({ studioPage: page }) => {
    await openExample(page, 'llama3-8b-128k.yaml');
    await page.keyboard.press('Alt+i');
    const dialog = page.getByTestId('hf-dialog');
    await expect(dialog).toBeVisible();
    await dialog
      .getByTestId('hf-text')
      .fill('{"architectures": ["Qwen2ForCausalLM"], "hidden_size": 8');
    await expect(dialog.getByTestId('hf-error')).toContainText('not JSON');
    await dialog.getByTestId('hf-text').fill(
      JSON.stringify({
        _name_or_path: 'Qwen/Qwen2.5-1.5B',
        architectures: ['Qwen2ForCausalLM'],
        hidden_size: 1536,
        intermediate_size: 8960,
        num_attention_heads: 12,
        num_hidden_layers: 28,
        num_key_value_heads: 2,
        vocab_size: 151936,
        rope_theta: 1000000,
        rms_norm_eps: 1e-6,
        tie_word_embeddings: true,
      }),
    );
    await expect(dialog.getByTestId('hf-preview')).toContainText('Qwen/Qwen2.5-1.5B');
    await dialog.getByTestId('hf-apply').click();
    await expect(dialog).toBeHidden();
    await expect.poll(() => editorText(page)).toContain('family: qwen2');
    expect(await editorText(page)).not.toContain('preset:');
    await expect(page.getByTestId('preset-select')).toHaveValue('__custom');
    await expect(page.getByTestId('model-summary')).toContainText('28 layers · hidden 1536');
  });
});
