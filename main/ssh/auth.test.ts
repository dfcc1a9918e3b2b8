// Password and keyboard-interactive auth. The test sshd runs without PAM and root's password is
// not ours to know, so these use ssh2's own SSH server (a real protocol peer) on loopback.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Server, utils, type Connection as ServerConnection } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Answer, Asker, Question } from './asker';
import { connectChain } from './connection';
import { appendKnownHost } from './known-hosts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-auth-'));
const knownHosts = path.join(dir, 'known_hosts');
let server: Server;
let port = 0;
const seen: string[] = [];

beforeAll(async () => {
  const keys = utils.generateKeyPairSync('ed25519');
  const pub = utils.parseKey(keys.public);
  if (pub instanceof Error || Array.isArray(pub)) throw new Error('bad key');
  server = new Server({ hostKeys: [keys.private] }, (client: ServerConnection) => {
    client.on('authentication', (ctx) => {
      seen.push(`${ctx.username}:${ctx.method}`);
      if (ctx.username === 'pw' && ctx.method === 'password' && ctx.password === 'open sesame')
        return ctx.accept();
      if (ctx.username === 'kbd' && ctx.method === 'keyboard-interactive') {
        return ctx.prompt(
          [
            { prompt: 'Password: ', echo: false },
            { prompt: 'Code: ', echo: true },
          ],
          'Two steps',
          'Answer both',
          (answers) =>
            answers[0] === 'open sesame' && answers[1] === '424242'
              ? ctx.accept()
              : ctx.reject(['keyboard-interactive']),
        );
      }
      ctx.reject([ctx.username === 'kbd' ? 'keyboard-interactive' : 'password']);
    });
    client.on('ready', () =>
      client.on('session', (accept) =>
        accept().on('exec', (acc, _rej, info) => {
          const ch = acc();
          ch.write(`ran ${info.command}\n`);
          ch.exit(0);
          ch.end();
        }),
      ),
    );
    client.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
  appendKnownHost(knownHosts, '127.0.0.1', port, pub.type, pub.getPublicSSH().toString('base64'));
});
afterAll(() => {
  server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function asker(answer: (q: Question) => Answer): Asker & { asked: Question[] } {
  const asked: Question[] = [];
  return { asked, ask: async (q) => (asked.push(q), answer(q)), tell: () => undefined };
}

const hop = (user: string) => ({
  label: 'box',
  host: '127.0.0.1',
  port,
  user,
  identityFiles: [path.join(dir, 'no-such-key')],
});

describe('password and keyboard-interactive', () => {
  it('asks for a password only when the server wants one, retrying a wrong one', async () => {
    let n = 0;
    const a = asker(() => ({ values: [n++ === 0 ? 'wrong' : 'open sesame'] }));
    const conn = await connectChain([hop('pw')], {
      knownHostsFile: knownHosts,
      asker: a,
      agent: null,
    });
    expect(a.asked).toEqual([
      { kind: 'password', node: 'box', user: 'pw' },
      { kind: 'password', node: 'box', user: 'pw' },
    ]);
    expect((await conn.exec('hostname')).stdout).toBe('ran hostname\n');
    conn.close();
    expect(seen.filter((s) => s.startsWith('pw:'))).toEqual([
      'pw:none',
      'pw:password',
      'pw:password',
    ]);
  });

  it('passes keyboard-interactive prompts through, with their echo flags', async () => {
    const a = asker((q) =>
      q.kind === 'keyboard-interactive' ? { values: ['open sesame', '424242'] } : {},
    );
    const conn = await connectChain([hop('kbd')], {
      knownHostsFile: knownHosts,
      asker: a,
      agent: null,
    });
    expect(a.asked).toEqual([
      {
        kind: 'keyboard-interactive',
        node: 'box',
        name: 'Two steps',
        instructions: 'Answer both',
        prompts: [
          { prompt: 'Password: ', echo: false },
          { prompt: 'Code: ', echo: true },
        ],
      },
    ]);
    conn.close();
  });

  it('gives up cleanly when nobody answers', async () => {
    const a: Asker = { ask: () => Promise.reject(new Error('nobody')), tell: () => undefined };
    const err = await connectChain([hop('pw')], {
      knownHostsFile: knownHosts,
      asker: a,
      agent: null,
    }).catch((e) => e);
    expect(err.kind).toBe('auth');
  });
});
