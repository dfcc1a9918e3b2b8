// A node shell end to end against a real OpenSSH server: an ssh2 pty channel wrapped as a
// terminal backend, with input, resize, flow control and exit going through TerminalSession.
import fs from 'node:fs';
import os from 'node:os';
import { EventEmitter } from 'node:events';
import { Client, type ClientChannel } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSshWorld, startSshd, type Sshd, type SshWorld } from '../testing/sshd';
import { sshShellBackend, type PtyChannel } from './node-shell';
import { TerminalSession, type TerminalOutput } from './session';

let world: SshWorld;
let sshd: Sshd;
const clients: Client[] = [];

beforeAll(async () => {
  world = makeSshWorld();
  sshd = await startSshd(world, { name: 'shell' });
});
afterAll(async () => {
  clients.forEach((c) => c.end());
  await sshd?.stop();
  await world?.cleanup();
});

async function openShell(cols = 80, rows = 24): Promise<ClientChannel> {
  const c = new Client();
  clients.push(c);
  await new Promise<void>((resolve, reject) => {
    c.once('ready', () => resolve());
    c.once('error', reject);
    c.connect({
      host: sshd.host,
      port: sshd.port,
      username: os.userInfo().username,
      privateKey: fs.readFileSync(world.clientKey),
    });
  });
  return new Promise((resolve, reject) =>
    c.shell({ term: 'xterm-256color', cols, rows }, (err, ch) => (err ? reject(err) : resolve(ch))),
  );
}

function collect() {
  const st = { text: '', exit: undefined as number | null | undefined };
  return {
    st,
    listener: (e: TerminalOutput) => {
      if (e.type === 'data') st.text += e.data;
      else st.exit = e.code;
    },
  };
}

async function until(cond: () => boolean, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('node shell over SSH', () => {
  it('runs typed commands, follows resizes, shows UTF-8 and reports the exit code', async () => {
    const s = new TerminalSession('t1', 'node', sshShellBackend(await openShell()));
    const out = collect();
    s.attach(out.listener);
    s.input('echo "remote-$((40+2))"; printf "\\316\\273-\\342\\234\\223\\n"\r');
    await until(
      () => out.st.text.includes('remote-42') && out.st.text.includes('λ-✓'),
      'remote echo',
    );
    s.resize(101, 33);
    s.input('stty size\r');
    await until(() => out.st.text.includes('33 101'), 'stty size after resize');
    s.input('exit 5\r');
    await until(() => out.st.exit !== undefined, 'exit');
    expect(out.st.exit).toBe(5);
  });

  it('pauses a flood at the high-water mark and resumes on acks', async () => {
    const s = new TerminalSession('t2', 'node', sshShellBackend(await openShell()), {
      high: 64 * 1024,
      low: 8 * 1024,
    });
    const out = collect();
    s.attach(out.listener);
    s.input('yes ssh-flood\r');
    await until(() => s.flowState.paused, 'pause');
    await new Promise((r) => setTimeout(r, 300));
    const held = out.st.text.length;
    await new Promise((r) => setTimeout(r, 500));
    // Paused: nothing more arrives (the SSH window fills and the remote `yes` blocks).
    expect(out.st.text.length).toBe(held);
    s.ack(held);
    await until(() => out.st.text.length > held, 'more output after the ack');
    await s.close();
  });
});

describe('sshShellBackend decoding', () => {
  it('keeps a character whole when its bytes arrive in two packets', () => {
    // A narrow stand-in for the channel: only the event plumbing matters here.
    const ch = Object.assign(new EventEmitter(), {
      stderr: new EventEmitter(),
      write: () => true,
      setWindow: () => {},
      pause: () => {},
      resume: () => {},
      close: () => {},
    }) as unknown as PtyChannel & EventEmitter;
    const b = sshShellBackend(ch);
    let text = '';
    b.onData((d) => (text += d));
    const bytes = Buffer.from('a✓b', 'utf8');
    ch.emit('data', bytes.subarray(0, 2));
    ch.emit('data', bytes.subarray(2));
    expect(text).toBe('a✓b');
  });
});
