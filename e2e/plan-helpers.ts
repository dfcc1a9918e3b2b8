// Helpers for the Plan area's e2e tests: the table, the editor's text, and opening an example.
import { expect, type Page } from '@playwright/test';

export const table = (page: Page) => page.getByTestId('layout-table');
export const rows = (page: Page) => table(page).locator('tbody tr');

/** The editor's visible text (Monaco renders spaces as no-break spaces). */
export async function editorText(page: Page): Promise<string> {
  return (await page.locator('[data-testid=config-editor] .view-lines').innerText()).replace(
    /\u00a0/g,
    ' ',
  );
}

/** Put the cursor on the line holding `text` and select that line's content (not its indent). */
export async function selectLine(page: Page, text: string): Promise<void> {
  await page.locator('[data-testid=config-editor] .view-line', { hasText: text }).first().click();
  await page.keyboard.press('End');
  await page.keyboard.press('Shift+Home');
}

export async function openExample(page: Page, name: string): Promise<void> {
  // First start opens the Llama example by itself; wait for that before opening one on purpose.
  await expect(rows(page).first()).toBeVisible();
  await page.keyboard.press('Control+o');
  const dialog = page.getByTestId('open-dialog');
  await expect(dialog).toBeVisible();
  await dialog.getByTestId('example').filter({ hasText: name }).click();
  await expect(dialog).toBeHidden();
  await expect(rows(page).first()).toBeVisible();
}
