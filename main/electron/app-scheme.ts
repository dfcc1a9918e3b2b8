// The Electron window's own origin, spindle://studio. The UI is served from it rather than from
// file:// because a file: page cannot carry headers: with this scheme every answer carries the CSP
// and COOP/COEP, so the page is cross-origin isolated and may share memory with its planner
// worker, as it does under `spindle serve`. Kept free of Electron imports so it can be tested.
import { staticReply, type StaticReply } from '../serve/static-files';

export const APP_SCHEME = 'spindle';
export const APP_HOST = 'studio';
export const APP_INDEX_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/**
 * Standard (relative URLs, an origin, web storage) and secure (a secure context, needed for
 * cross-origin isolation); fetch and CORS-mode requests for module scripts and workers; V8's
 * code cache. It may not bypass the CSP nor register service workers.
 */
export const APP_SCHEME_PRIVILEGES = {
  standard: true,
  secure: true,
  supportFetchAPI: true,
  corsEnabled: true,
  codeCache: true,
} as const;

/** True for a URL of our own origin (any path). */
export function isAppOrigin(url: string): boolean {
  try {
    const u = new URL(url);
    return (
      u.protocol === `${APP_SCHEME}:` &&
      u.host === APP_HOST &&
      u.username === '' &&
      u.password === ''
    );
  } catch {
    return false;
  }
}

/** The answer to one request of the scheme: a file of the built UI under `root`, or a refusal. */
export function appSchemeReply(
  root: string,
  request: { method: string; url: string },
  csp: string,
): Promise<StaticReply> {
  if (!isAppOrigin(request.url)) {
    return Promise.resolve({
      status: 404,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  }
  return staticReply(root, request.method, new URL(request.url).pathname, csp);
}
