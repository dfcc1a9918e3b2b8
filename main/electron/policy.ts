// The Electron window's security policy, kept free of Electron imports so it can be tested.
import { APP_INDEX_URL, isAppOrigin } from './app-scheme';

/** Every window's web preferences: the renderer gets no Node and no Electron. */
export const WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  spellcheck: false,
} as const;

/** Links leave the app only to the web, never to file:, javascript: or custom schemes. */
export function isSafeExternalUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (
      (u.protocol === 'https:' || u.protocol === 'http:') && u.username === '' && u.password === ''
    );
  } catch {
    return false;
  }
}

/** Only our own page may talk to the host: the built index.html on our scheme, or the dev server's origin. */
export function isOwnFrame(frameUrl: string | undefined, app: { devUrl?: string }): boolean {
  if (!frameUrl) return false;
  try {
    if (app.devUrl) return new URL(frameUrl).origin === new URL(app.devUrl).origin;
    return isAppOrigin(frameUrl) && new URL(frameUrl).pathname === new URL(APP_INDEX_URL).pathname;
  } catch {
    return false;
  }
}
