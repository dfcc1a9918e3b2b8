import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createServices } from '../host/services';
import { startServer, type RunningServer } from './server';

let server: RunningServer;
let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-serve-'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
  fs.writeFileSync(path.join(os.tmpdir(), 'spindle-secret.txt'), 'secret');
  const services = createServices({
    version: '1.2.3',
    door: 'serve',
    dataDir: dir,
    startedAt: 0,
    resourcesDir: process.cwd(),
  });
  server = await startServer({ rendererDir: dir, services });
});
afterAll(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const wsStatus = (url: string) =>
  new Promise<number>((resolve) => {
    const ws = new WebSocket(url);
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });

describe('spindle serve', () => {
  it('listens on loopback only, with a fresh random token in the URL fragment', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{32}$/);
  });

  it('serves the page with a strict CSP and refuses paths outside the UI folder', async () => {
    const page = await fetch(`http://127.0.0.1:${server.port}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    // Cross-origin isolated: no other origin opens or embeds it, and it may share memory with its workers.
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const escape = await fetch(`http://127.0.0.1:${server.port}/..%2Fspindle-secret.txt`);
    expect([403, 404]).toContain(escape.status);
    // A malformed escape is refused, and the server goes on answering.
    expect((await fetch(`http://127.0.0.1:${server.port}/%E0%A4%A`)).status).toBe(403);
    expect((await fetch(`http://127.0.0.1:${server.port}/index.html`)).status).toBe(200);
  });

  it('refuses WebSockets without the right token and accepts the right one', async () => {
    const base = `ws://127.0.0.1:${server.port}/ws`;
    expect(await wsStatus(base)).toBe(401);
    expect(await wsStatus(`${base}?token=${'x'.repeat(32)}`)).toBe(401);
    expect(await wsStatus(`${base}?token=${server.token}`)).toBe(101);
  });
});
