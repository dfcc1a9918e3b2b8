// The Electron shell's wiring, checked without the Electron binary (it cannot be downloaded here):
// `electron` is replaced by a recorder, so this proves the order and arguments of the calls the
// shell makes, not Electron's behaviour.
import { describe, expect, it, vi } from 'vitest';
import { APP_INDEX_URL, APP_SCHEME } from './app-scheme';
import { WIRE_CHANNEL } from './channel';

const calls: string[] = [];
let markReady = () => {};
const ready = new Promise<void>((resolve) => (markReady = resolve));
const handlers = new Map<string, (req: Request) => Promise<Response>>();
const ipc = new Map<string, (event: unknown, message: unknown) => void>();
const windows: { prefs: Record<string, unknown>; url?: string }[] = [];

vi.mock('electron', () => {
  const contents = { on: () => {}, setWindowOpenHandler: () => {} };
  class BrowserWindow {
    webContents = contents;
    private readonly record: { prefs: Record<string, unknown>; url?: string };
    constructor(opts: { webPreferences: Record<string, unknown> }) {
      this.record = { prefs: opts.webPreferences };
      windows.push(this.record);
    }
    once() {}
    async loadURL(url: string) {
      calls.push('loadURL');
      this.record.url = url;
    }
  }
  const session = {
    defaultSession: {
      setPermissionRequestHandler: () => {},
      setPermissionCheckHandler: () => {},
      webRequest: { onHeadersReceived: () => {} },
      protocol: {
        handle: (scheme: string, h: (req: Request) => Promise<Response>) => {
          calls.push(`handle:${scheme}`);
          handlers.set(scheme, h);
        },
      },
    },
  };
  return {
    app: { whenReady: () => ready, on: () => {} },
    BrowserWindow,
    ipcMain: { on: (ch: string, h: (e: unknown, m: unknown) => void) => ipc.set(ch, h) },
    protocol: {
      registerSchemesAsPrivileged: (schemes: { scheme: string; privileges: object }[]) =>
        calls.push(`privileged:${schemes.map((s) => s.scheme).join(',')}`),
    },
    session,
    shell: { openExternal: async () => {} },
  };
});
vi.mock('../host/create', () => ({
  createHost: () => ({ services: {}, dispose: async () => {} }),
}));

describe('the Electron shell', () => {
  it('registers its scheme before ready, serves the UI from it, and talks only to that page', async () => {
    await import('./index');
    // Privileges can only be granted before the app is ready.
    expect(calls).toEqual([`privileged:${APP_SCHEME}`]);
    markReady();
    await vi.waitFor(() => expect(calls).toContain('loadURL'));
    expect(calls.indexOf(`handle:${APP_SCHEME}`)).toBeLessThan(calls.indexOf('loadURL'));
    expect(windows).toHaveLength(1);
    expect(windows[0].url).toBe(APP_INDEX_URL);
    expect(windows[0].prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    });

    // Other hosts of the scheme get nothing.
    const other = await handlers.get(APP_SCHEME)!(new Request('spindle://elsewhere/index.html'));
    expect(other.status).toBe(404);

    // IPC from any other page is dropped before it reaches the host.
    const sent: unknown[] = [];
    const event = (url: string) => ({
      senderFrame: { url },
      sender: {
        id: 1,
        isDestroyed: () => false,
        send: (_c: string, m: unknown) => sent.push(m),
        once: () => {},
      },
    });
    const hello = { t: 'req', id: 1, method: 'app.version', params: {} };
    ipc.get(WIRE_CHANNEL)!(event('file:///tmp/evil.html'), hello);
    ipc.get(WIRE_CHANNEL)!(event('https://example.com/'), hello);
    await new Promise((r) => setTimeout(r, 20));
    expect(sent).toEqual([]);
    ipc.get(WIRE_CHANNEL)!(event(APP_INDEX_URL), hello);
    await vi.waitFor(() => expect(sent.length).toBeGreaterThan(0));
  });
});
