// `spindle serve`: the studio UI in a browser. Loopback only; a random token per start, and every
// WebSocket without it is refused. The page itself holds no secret; the token travels in the URL
// fragment, which browsers never send to the server.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { Connection, type Services } from '../host/router';
import { contentSecurityPolicy } from './csp';
import { staticReply } from './static-files';

const HOST = '127.0.0.1';

export interface ServeOptions {
  port?: number;
  rendererDir: string;
  services: Services;
  /** Fixed token for tests; random otherwise. */
  token?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

function tokenMatches(given: string | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const token = opts.token ?? crypto.randomBytes(24).toString('base64url');
  const root = path.resolve(opts.rendererDir);
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    throw new Error(
      `the studio UI is not built (${root}/index.html is missing): run npm run build`,
    );
  }
  let port = 0;
  const csp = () => contentSecurityPolicy([`ws://${HOST}:${port}`]);

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    void staticReply(root, req.method ?? 'GET', url.pathname, csp()).then((r) => {
      res.writeHead(r.status, r.headers).end(r.body);
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const origin = req.headers.origin;
    // The token is the gate; the Origin check also stops other local pages that learnt the port.
    const originOk =
      !origin || origin === `http://${HOST}:${port}` || origin === `http://localhost:${port}`;
    if (
      url.pathname !== '/ws' ||
      !tokenMatches(url.searchParams.get('token'), token) ||
      !originOk
    ) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  function attach(ws: WebSocket) {
    const conn = new Connection(opts.services, 'serve', (m) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
    });
    ws.on('message', (data) => {
      let msg: unknown;
      try {
        msg = JSON.parse(String(data));
      } catch {
        msg = null;
      }
      void conn.receive(msg);
    });
    ws.on('close', () => conn.close());
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, HOST, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${HOST}:${port}/#token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
