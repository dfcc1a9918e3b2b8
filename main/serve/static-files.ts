// The studio UI's files, answered the same way by both doors: `spindle serve` over loopback HTTP,
// and the Electron window over its own scheme (main/electron/app-scheme.ts). Every answer carries
// the CSP and cross-origin isolation, so the page may share memory with its planner worker (the
// table then updates in the keystroke's own frame) and no other origin can open or embed it.
import fs from 'node:fs/promises';
import path from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ttf': 'font/ttf',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

export interface StaticReply {
  status: number;
  headers: Record<string, string>;
  /** Absent for HEAD and for refusals. */
  body?: Uint8Array<ArrayBuffer>;
}

const refuse = (status: number, why: string): StaticReply => ({
  status,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
  body: Buffer.from(why),
});

/** The file under `root` that `pathname` names, or null when it names something outside it. */
export function staticFile(root: string, pathname: string): string | null {
  let rel: string;
  try {
    rel = decodeURIComponent(pathname === '/' ? '/index.html' : pathname);
  } catch {
    return null; // malformed %-escapes
  }
  if (rel.includes('\0')) return null;
  const base = path.resolve(root);
  const file = path.resolve(base, '.' + rel);
  return file.startsWith(base + path.sep) ? file : null;
}

export async function staticReply(
  root: string,
  method: string,
  pathname: string,
  csp: string,
): Promise<StaticReply> {
  if (method !== 'GET' && method !== 'HEAD') return refuse(405, 'method not allowed');
  const file = staticFile(root, pathname);
  if (!file) return refuse(403, 'forbidden');
  let body: Uint8Array<ArrayBuffer>;
  try {
    body = await fs.readFile(file);
  } catch {
    return refuse(404, 'not found');
  }
  return {
    status: 200,
    headers: {
      'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
      'content-length': String(body.length),
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cross-origin-resource-policy': 'same-origin',
    },
    body: method === 'HEAD' ? undefined : body,
  };
}
