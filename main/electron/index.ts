// The Electron door: one hardened window over the same host services the other doors use.
// Kept thin on purpose: behaviour lives in main/host and the services.
import path from 'node:path';
import { app, BrowserWindow, ipcMain, protocol, session, shell, type WebContents } from 'electron';
import { Connection } from '../host/router';
import { createHost } from '../host/create';
import { contentSecurityPolicy } from '../serve/csp';
import { APP_INDEX_URL, APP_SCHEME, APP_SCHEME_PRIVILEGES, appSchemeReply } from './app-scheme';
import { WIRE_CHANNEL } from './channel';
import { isOwnFrame, isSafeExternalUrl, WEB_PREFERENCES } from './policy';

const devUrl = process.env.ELECTRON_RENDERER_URL;
const rendererDir = path.join(__dirname, '..', 'renderer');

// Before ready: a scheme's privileges are fixed when the app starts.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: APP_SCHEME_PRIVILEGES }]);

function harden(contents: WebContents) {
  contents.on('will-navigate', (e) => e.preventDefault());
  contents.on('will-redirect', (e) => e.preventDefault());
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isSafeExternalUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
}

async function start() {
  await app.whenReady();
  const host = createHost('electron');
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  const csp = contentSecurityPolicy(devUrl ? [devUrl.replace(/^http/, 'ws')] : []);
  ses.protocol.handle(APP_SCHEME, async (request) => {
    const r = await appSchemeReply(rendererDir, request, csp);
    return new Response(r.body ?? null, { status: r.status, headers: r.headers });
  });
  // The dev server's answers get the same CSP (ours carry it already).
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
  });

  const connections = new Map<number, Connection>();
  ipcMain.on(WIRE_CHANNEL, (event, message: unknown) => {
    if (!isOwnFrame(event.senderFrame?.url, { devUrl })) return;
    const wc = event.sender;
    let conn = connections.get(wc.id);
    if (!conn) {
      conn = new Connection(host.services, 'electron', (m) => {
        if (!wc.isDestroyed()) wc.send(WIRE_CHANNEL, m);
      });
      connections.set(wc.id, conn);
      wc.once('destroyed', () => {
        connections.get(wc.id)?.close();
        connections.delete(wc.id);
      });
    }
    void conn.receive(message);
  });

  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    title: 'Spindle',
    show: false,
    webPreferences: {
      ...WEB_PREFERENCES,
      preload: path.join(__dirname, '..', 'preload', 'index.js'),
    },
  });
  harden(win.webContents);
  win.once('ready-to-show', () => win.show());
  if (devUrl) await win.loadURL(devUrl);
  else await win.loadURL(APP_INDEX_URL);

  app.on('window-all-closed', () => {
    // Runs live on the nodes, not in this process: closing the window loses nothing.
    void host.dispose().finally(() => app.quit());
  });
}

app.on('web-contents-created', (_e, contents) => harden(contents));
void start();
