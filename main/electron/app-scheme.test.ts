import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../serve/csp';
import { APP_INDEX_URL, APP_SCHEME_PRIVILEGES, appSchemeReply, isAppOrigin } from './app-scheme';

let parent: string;
let root: string;
const csp = contentSecurityPolicy();
beforeAll(() => {
  parent = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-scheme-'));
  root = path.join(parent, 'renderer');
  fs.mkdirSync(path.join(root, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>studio</title>');
  fs.writeFileSync(path.join(root, 'assets', 'plan.worker-x.js'), 'self.onmessage = () => {};');
  fs.writeFileSync(path.join(parent, 'secret.txt'), 'not for the page');
});
afterAll(() => fs.rmSync(parent, { recursive: true, force: true }));

const text = (body?: Uint8Array) => new TextDecoder().decode(body);
const get = (url: string, method = 'GET') => appSchemeReply(root, { method, url }, csp);

describe('the Electron window’s spindle:// scheme', () => {
  it('serves the built UI cross-origin isolated, with the CSP, as serve mode does', async () => {
    const page = await get(APP_INDEX_URL);
    expect(page.status).toBe(200);
    expect(text(page.body)).toContain('<title>studio</title>');
    expect(page.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': csp,
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cross-origin-resource-policy': 'same-origin',
      'x-content-type-options': 'nosniff',
    });
    const worker = await get('spindle://studio/assets/plan.worker-x.js');
    expect(worker.status).toBe(200);
    expect(worker.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(worker.headers['cross-origin-embedder-policy']).toBe('require-corp');
    const head = await get(APP_INDEX_URL, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBeUndefined();
  });

  it('refuses other hosts, other methods, and every way out of the UI folder', async () => {
    expect((await get('spindle://elsewhere/index.html')).status).toBe(404);
    expect((await get('spindle://user@studio/index.html')).status).toBe(404);
    expect((await get(APP_INDEX_URL, 'POST')).status).toBe(405);
    expect((await get('spindle://studio/missing.js')).status).toBe(404);
    for (const escape of [
      '%2e%2e/secret.txt',
      '..%2fsecret.txt',
      '%2e%2e%2fsecret.txt',
      'assets%2f..%2f..%2fsecret.txt',
      '%E0%A4%A',
      'index.html%00.js',
    ]) {
      const r = await get(`spindle://studio/${escape}`);
      expect([403, 404], escape).toContain(r.status);
      expect(text(r.body), escape).not.toContain('not for the page');
    }
  });

  it('is a secure standard scheme that may not bypass the CSP', () => {
    expect(APP_SCHEME_PRIVILEGES).toMatchObject({ standard: true, secure: true });
    expect(APP_SCHEME_PRIVILEGES).not.toHaveProperty('bypassCSP');
    expect(APP_SCHEME_PRIVILEGES).not.toHaveProperty('allowServiceWorkers');
    expect(isAppOrigin('spindle://studio/assets/x.js')).toBe(true);
    expect(isAppOrigin('spindle://studio.evil/x')).toBe(false);
    expect(isAppOrigin('https://studio/x')).toBe(false);
  });
});
