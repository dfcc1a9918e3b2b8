import WebSocket from 'ws';
import { expect, test } from './fixtures';
import pkg from '../package.json';

test('the status bar shows the host version from a protocol round-trip, and the keyboard switches areas', async ({
  studioPage: page,
}, testInfo) => {
  await expect(page.getByTestId('host-version')).toContainText(`Spindle host ${pkg.version}`);
  await expect(page.getByTestId('host-version')).toContainText('serve');
  // The token left the address bar once read.
  expect(page.url()).not.toContain('token=');

  const area = page.locator('main.area');
  await expect(area).toHaveAttribute('data-area', 'plan');
  await page.keyboard.press('Control+2');
  await expect(area).toHaveAttribute('data-area', 'nodes');
  await page.keyboard.press('Control+3');
  await expect(area).toHaveAttribute('data-area', 'runs');
  await page.keyboard.press('Control+PageDown');
  await expect(area).toHaveAttribute('data-area', 'plan');
  // Arrow keys move along the focused tab list.
  await page.getByRole('tab', { name: 'Plan' }).focus();
  await page.keyboard.press('ArrowRight');
  await expect(area).toHaveAttribute('data-area', 'nodes');
  await expect(page.getByRole('tab', { name: 'Nodes' })).toBeFocused();

  // Both themes render; the choice survives a reload.
  const theme = await page.evaluate(() => document.documentElement.dataset.theme);
  await page.keyboard.press('Control+Shift+L');
  await expect(page.locator('html')).not.toHaveAttribute('data-theme', theme!);
  await page.screenshot({ path: testInfo.outputPath('studio.png') });
  await page.reload();
  await expect(page.locator('html')).not.toHaveAttribute('data-theme', theme!);
  await expect(page.getByTestId('connection-state')).toHaveText('Connected');
});

test('a WebSocket without the token is refused; with it, a request is answered', async ({
  studio,
}) => {
  const attempt = (url: string, headers: Record<string, string> = {}) =>
    new Promise<{ opened: boolean; status?: number }>((resolve) => {
      const ws = new WebSocket(url, { headers });
      ws.on('open', () => {
        ws.close();
        resolve({ opened: true });
      });
      ws.on('unexpected-response', (_req, res) =>
        resolve({ opened: false, status: res.statusCode }),
      );
      ws.on('error', () => resolve({ opened: false }));
    });
  const base = `ws://127.0.0.1:${studio.port}/ws`;
  expect(await attempt(base)).toEqual({ opened: false, status: 401 });
  expect(await attempt(`${base}?token=wrong-token`)).toEqual({ opened: false, status: 401 });
  expect(await attempt(`${base}?token=${studio.token}`, { origin: 'http://evil.example' })).toEqual(
    { opened: false, status: 401 },
  );

  const reply = await new Promise<unknown>((resolve, reject) => {
    const ws = new WebSocket(`${base}?token=${studio.token}`);
    ws.on('open', () =>
      ws.send(JSON.stringify({ t: 'req', id: 1, method: 'host.info', params: {} })),
    );
    ws.on('message', (d) => {
      resolve(JSON.parse(String(d)));
      ws.close();
    });
    ws.on('error', reject);
  });
  expect(reply).toMatchObject({
    t: 'res',
    id: 1,
    ok: true,
    result: { name: 'spindle', version: pkg.version },
  });
});
