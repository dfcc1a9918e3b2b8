import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSshWorld, startSshd, type Sshd, type SshWorld } from '../testing/sshd';
import { refusingAsker, type Answer, type Asker, type Question } from './asker';
import { connectChain, SshError, type Hop } from './connection';
import {
  appendKnownHost,
  checkHostKey,
  entryMatches,
  fingerprintOfBase64,
  parseKnownHosts,
} from './known-hosts';
import { listSshAliases, parseSshConfig, proxyCommandFor, resolveSshHost } from './ssh-config';

const KEY = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const OTHER = 'AAAAC3NzaC1lZDI1NTE5AAAAIBm0t0vX0fJ3gZQ6tPq1h4a2VvQ9jgS7mC1q9hEJ1lZx';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
async function waitUntil(cond: () => boolean, ms: number) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function hashed(name: string): string {
  const salt = crypto.randomBytes(20);
  return `|1|${salt.toString('base64')}|${crypto.createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts', () => {
  const text = [
    '# comment',
    `gpu1.example,10.0.0.5 ssh-ed25519 ${KEY}`,
    `[gpu2.example]:2222 ssh-ed25519 ${KEY} user@laptop`,
    `${hashed('[10.0.0.9]:2200')} ssh-ed25519 ${KEY}`,
    `${hashed('hashed.example')} ssh-ed25519 ${KEY}`,
    `*.lab.example,!evil.lab.example ssh-ed25519 ${KEY}`,
    `@revoked * ssh-ed25519 ${OTHER}`,
    `@cert-authority *.ca.example ssh-ed25519 ${OTHER}`,
    '@future-marker x ssh-ed25519 AAAA',
    'broken line',
  ].join('\n');
  const entries = parseKnownHosts(text);

  it('reads plain, [host]:port, hashed, pattern and marker lines', () => {
    expect(entries.map((e) => [e.line, e.marker])).toEqual([
      [2, null],
      [3, null],
      [4, null],
      [5, null],
      [6, null],
      [7, '@revoked'],
      [8, '@cert-authority'],
    ]);
  });
  it('matches hosts by name, [host]:port and hashed names', () => {
    expect(entryMatches(entries[0].hosts, '10.0.0.5', 22)).toBe(true);
    expect(entryMatches(entries[0].hosts, '10.0.0.5', 2222)).toBe(false);
    expect(entryMatches(entries[1].hosts, 'gpu2.example', 2222)).toBe(true);
    expect(entryMatches(entries[1].hosts, 'gpu2.example', 22)).toBe(false);
    expect(entryMatches(entries[2].hosts, '10.0.0.9', 2200)).toBe(true);
    expect(entryMatches(entries[2].hosts, '10.0.0.9', 22)).toBe(false);
    expect(entryMatches(entries[3].hosts, 'hashed.example', 22)).toBe(true);
    expect(entryMatches(entries[3].hosts, 'other.example', 22)).toBe(false);
    expect(entryMatches(entries[4].hosts, 'n1.lab.example', 22)).toBe(true);
    expect(entryMatches(entries[4].hosts, 'evil.lab.example', 22)).toBe(false);
  });
  it('classifies a presented key as known, unknown, changed or revoked', () => {
    expect(checkHostKey(entries, 'gpu1.example', 22, 'ssh-ed25519', KEY).status).toBe('known');
    expect(checkHostKey(entries, 'new.example', 22, 'ssh-ed25519', KEY).status).toBe('unknown');
    const changed = checkHostKey(
      entries,
      'gpu2.example',
      2222,
      'ssh-ed25519',
      KEY.replace('OMq', 'XMq'),
    );
    expect(changed.status).toBe('changed');
    expect(changed.status === 'changed' && changed.known[0].line).toBe(3);
    // A key of another type than the one on file is not silently trusted either.
    expect(checkHostKey(entries, 'gpu1.example', 22, 'ecdsa-sha2-nistp256', 'AAAA').status).toBe(
      'changed',
    );
    expect(checkHostKey(entries, 'gpu1.example', 22, 'ssh-ed25519', OTHER).status).toBe('revoked');
  });
  it('prints SHA256 fingerprints as OpenSSH does', () => {
    const dir = fs.mkdtempSync(path.join('/tmp', 'spindle-fp-'));
    const f = path.join(dir, 'k');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]);
    const [, b64] = fs.readFileSync(`${f}.pub`, 'utf8').split(' ');
    const openssh = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${f}.pub`])
      .toString()
      .split(' ')[1];
    expect(fingerprintOfBase64(b64)).toBe(openssh);
    fs.rmSync(dir, { recursive: true });
  });
  it('appends in the format OpenSSH reads (ssh-keygen -F finds it)', () => {
    const dir = fs.mkdtempSync(path.join('/tmp', 'spindle-kh-'));
    const file = path.join(dir, 'known_hosts');
    fs.writeFileSync(file, `# no final newline\nother ssh-ed25519 ${KEY}`);
    appendKnownHost(file, '127.0.0.1', 2201, 'ssh-ed25519', KEY);
    appendKnownHost(file, 'plain.example', 22, 'ssh-ed25519', KEY);
    expect(fs.readFileSync(file, 'utf8').split('\n')).toEqual([
      '# no final newline',
      `other ssh-ed25519 ${KEY}`,
      `[127.0.0.1]:2201 ssh-ed25519 ${KEY}`,
      `plain.example ssh-ed25519 ${KEY}`,
      '',
    ]);
    expect(execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2201', '-f', file]).toString()).toContain(
      KEY,
    );
    fs.rmSync(dir, { recursive: true });
  });
});

describe('ssh config', () => {
  const text = `
# global defaults come first in OpenSSH precedence only when they appear first
User globaluser

Host gpu-a gpu-b
  HostName %h.cluster.example
  Port 2200
  IdentityFile ~/.ssh/cluster_%h

Host gpu-b
  User override-ignored
  ProxyJump bastion

Host bastion
  HostName=203.0.113.7
  User "jump user"
  ProxyJump none

Host *.lab !secret.lab
  User labuser

Host *
  IdentityFile ~/.ssh/id_default
  Port 22

Match host gpu-a
  User matchuser
`;
  const blocks = parseSshConfig(text, { baseDir: '/nonexistent' });
  it('lists concrete aliases only', () => {
    expect(listSshAliases(blocks)).toEqual(['gpu-a', 'gpu-b', 'bastion']);
  });
  it('resolves with first-value-wins, accumulated IdentityFile and %h tokens', () => {
    const b = resolveSshHost(blocks, 'gpu-b');
    expect(b.hostName).toBe('gpu-b.cluster.example');
    expect(b.port).toBe(2200);
    expect(b.user).toBe('globaluser');
    expect(b.proxyJump).toBe('bastion');
    expect(b.identityFiles.map((f) => path.basename(f))).toEqual([
      'cluster_gpu-b.cluster.example',
      'id_default',
    ]);
    const j = resolveSshHost(blocks, 'bastion');
    expect(j).toMatchObject({ hostName: '203.0.113.7', user: 'globaluser', port: 22 });
    expect(j.proxyJump).toBeUndefined();
  });
  it('honours negated patterns and ignores Match blocks', () => {
    const noGlobal = parseSshConfig('Host *.lab !secret.lab\n  User labuser\n');
    expect(resolveSshHost(noGlobal, 'n1.lab').user).toBe('labuser');
    expect(resolveSshHost(noGlobal, 'secret.lab').user).toBeUndefined();
    expect(resolveSshHost(parseSshConfig('Match host x\n User m\n'), 'x').user).toBeUndefined();
  });
  it('reads ProxyCommand as written, and of ProxyJump and ProxyCommand the first one wins', () => {
    const cfg = parseSshConfig(
      [
        'Host tunnel',
        '  HostName i-0abc',
        '  ProxyCommand sh -c "aws ssm start-session --target %h --parameters portNumber=%p"',
        '  ProxyJump ignored-bastion',
        'Host jumpfirst',
        '  ProxyJump bastion',
        '  ProxyCommand ignored %h',
        'Host off',
        '  ProxyCommand none',
        'Host *',
        '  ProxyCommand ssh -W %h:%p gateway',
        '',
      ].join('\n'),
    );
    const t = resolveSshHost(cfg, 'tunnel');
    expect(t.proxyCommand).toBe(
      'sh -c "aws ssm start-session --target %h --parameters portNumber=%p"',
    );
    expect(t.proxyJump).toBeUndefined();
    const j = resolveSshHost(cfg, 'jumpfirst');
    expect(j.proxyJump).toBe('bastion');
    expect(j.proxyCommand).toBeUndefined();
    // "none" counts as the first value: the catch-all below does not apply.
    expect(resolveSshHost(cfg, 'off').proxyCommand).toBeUndefined();
    expect(resolveSshHost(cfg, 'other').proxyCommand).toBe('ssh -W %h:%p gateway');
  });
  it('expands ProxyCommand tokens, and refuses the ones it cannot know', () => {
    const hop = { alias: 'gpu1', host: '10.1.2.3', port: 2222, user: 'ml' };
    expect(proxyCommandFor('nc %h %p # %r@%n 100%%', hop)).toBe('nc 10.1.2.3 2222 # ml@gpu1 100%');
    expect(() => proxyCommandFor('connect %C', hop)).toThrow(/gpu1.*%C is not supported/);
  });
  it('follows Include relative to the config folder', () => {
    const dir = fs.mkdtempSync(path.join('/tmp', 'spindle-cfg-'));
    fs.mkdirSync(path.join(dir, 'conf.d'));
    fs.writeFileSync(
      path.join(dir, 'conf.d', 'lab.conf'),
      'Host included\n  HostName 198.51.100.4\n  Port 2022\n',
    );
    const b2 = parseSshConfig('Include conf.d/*.conf\nHost other\n  HostName o\n', {
      baseDir: dir,
    });
    expect(resolveSshHost(b2, 'included')).toMatchObject({ hostName: '198.51.100.4', port: 2022 });
    expect(listSshAliases(b2)).toEqual(['included', 'other']);
    fs.rmSync(dir, { recursive: true });
  });
});

/** An asker that records questions and answers from a script. */
function scriptedAsker(
  answer: (q: Question) => Answer | Promise<Answer>,
): Asker & { asked: Question[]; told: Question[] } {
  const asked: Question[] = [];
  const told: Question[] = [];
  return {
    asked,
    told,
    ask: async (q) => {
      asked.push(q);
      return answer(q);
    },
    tell: (q) => told.push(q),
  };
}

describe('connections to a real sshd', () => {
  let world: SshWorld;
  let a: Sshd;
  let b: Sshd;
  const hop = (s: Sshd, key = world.clientKey, label = s.name): Hop => ({
    label,
    host: s.host,
    port: s.port,
    user: 'root',
    identityFiles: [key],
  });

  beforeAll(async () => {
    world = makeSshWorld();
    [a, b] = await Promise.all([
      startSshd(world, { name: 'alpha' }),
      startSshd(world, { name: 'beta' }),
    ]);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await world?.cleanup();
  });

  it('refuses an unknown host key when no one can be asked, showing the fingerprint', async () => {
    fs.writeFileSync(world.knownHosts, '');
    const err = await connectChain([hop(a)], {
      knownHostsFile: world.knownHosts,
      asker: refusingAsker,
      agent: null,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(SshError);
    expect(err.kind).toBe('hostkey-unknown');
    expect(err.message).toContain(a.hostKey().fingerprint);
    expect(err.message).toContain('not interactive');
    expect(fs.readFileSync(world.knownHosts, 'utf8')).toBe('');
  });

  it('asks about an unknown key, appends it when trusted, and OpenSSH then accepts the file', async () => {
    fs.writeFileSync(world.knownHosts, '');
    const asker = scriptedAsker(() => ({ accept: true }));
    const conn = await connectChain([hop(a)], {
      knownHostsFile: world.knownHosts,
      asker,
      agent: null,
    });
    expect(asker.asked).toEqual([
      {
        kind: 'hostkey-unknown',
        key: {
          host: '127.0.0.1',
          port: a.port,
          label: 'alpha',
          keyType: 'ssh-ed25519',
          fingerprint: a.hostKey().fingerprint,
        },
      },
    ]);
    const r = await conn.exec('echo hello; echo err >&2; exit 3');
    expect(r).toEqual({ code: 3, signal: null, stdout: 'hello\n', stderr: 'err\n' });
    conn.close();
    expect(fs.readFileSync(world.knownHosts, 'utf8')).toBe(
      `[127.0.0.1]:${a.port} ssh-ed25519 ${a.hostKey().base64}\n`,
    );
    // The real ssh client with strict checking trusts what we wrote.
    const out = execFileSync('ssh', [
      '-F',
      '/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${world.knownHosts}`,
      '-i',
      world.clientKey,
      '-p',
      String(a.port),
      'root@127.0.0.1',
      'echo ok',
    ]);
    expect(out.toString().trim()).toBe('ok');
    // Second connection: no question.
    const again = scriptedAsker(() => ({ accept: false }));
    (
      await connectChain([hop(a)], { knownHostsFile: world.knownHosts, asker: again, agent: null })
    ).close();
    expect(again.asked).toEqual([]);
  });

  it('a rejected key is not written and the connection fails', async () => {
    fs.writeFileSync(world.knownHosts, '');
    const asker = scriptedAsker(() => ({ accept: false }));
    const err = await connectChain([hop(a)], {
      knownHostsFile: world.knownHosts,
      asker,
      agent: null,
    }).catch((e) => e);
    expect(err.kind).toBe('hostkey-unknown');
    expect(fs.readFileSync(world.knownHosts, 'utf8')).toBe('');
  });

  it('trusts hashed entries, and refuses a changed key with both fingerprints, never asking to accept it', async () => {
    fs.writeFileSync(world.knownHosts, '');
    world.trust(b, { hashed: true });
    (
      await connectChain([hop(b)], {
        knownHostsFile: world.knownHosts,
        asker: refusingAsker,
        agent: null,
      })
    ).close();
    const old = b.hostKey();
    await b.rotateHostKey();
    const asker = scriptedAsker(() => ({ accept: true }));
    const err = await connectChain([hop(b)], {
      knownHostsFile: world.knownHosts,
      asker,
      agent: null,
    }).catch((e) => e);
    expect(err.kind).toBe('hostkey-changed');
    expect(err.message).toContain(old.fingerprint);
    expect(err.message).toContain(b.hostKey().fingerprint);
    expect(asker.asked).toEqual([]);
    expect(asker.told.map((q) => q.kind)).toEqual(['hostkey-changed']);
    expect(fs.readFileSync(world.knownHosts, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('asks for an encrypted key passphrase, retrying a wrong one, and never stores it', async () => {
    fs.writeFileSync(world.knownHosts, '');
    world.trust(a);
    let n = 0;
    const asker = scriptedAsker((q) =>
      q.kind === 'passphrase'
        ? { values: [n++ === 0 ? 'wrong' : world.passphrase] }
        : { accept: false },
    );
    const conn = await connectChain([hop(a, world.encryptedKey)], {
      knownHostsFile: world.knownHosts,
      asker,
      agent: null,
    });
    expect(asker.asked.map((q) => q.kind)).toEqual(['passphrase', 'passphrase']);
    expect((await conn.exec('whoami')).stdout.trim()).toBe('root');
    conn.close();
    const err = await connectChain([hop(a, world.encryptedKey)], {
      knownHostsFile: world.knownHosts,
      asker: refusingAsker,
      agent: null,
    }).catch((e) => e);
    expect(err.kind).toBe('auth');
    expect(err.message).toContain('permission denied');
  });

  it('connects through a ProxyJump hop, checking each hop key', async () => {
    fs.writeFileSync(world.knownHosts, '');
    world.trust(a);
    const asker = scriptedAsker(() => ({ accept: true }));
    const conn = await connectChain(
      [hop(a, world.clientKey, 'jump'), hop(b, world.clientKey, 'inner')],
      { knownHostsFile: world.knownHosts, asker, agent: null },
    );
    // Only the inner hop was unknown: it is asked about under its own label.
    expect(asker.asked.map((q) => (q.kind === 'hostkey-unknown' ? q.key.label : q.kind))).toEqual([
      'inner',
    ]);
    expect((await conn.exec('echo $SSH_CONNECTION')).stdout).toMatch(
      /^127\.0\.0\.1 \d+ 127\.0\.0\.1 /,
    );
    conn.close();
  });

  it('a live connection knows whether known_hosts still vouches for every hop it was verified with', async () => {
    fs.writeFileSync(world.knownHosts, '');
    world.trust(a);
    world.trust(b);
    const trusted = fs.readFileSync(world.knownHosts, 'utf8');
    const conn = await connectChain(
      [hop(a, world.clientKey, 'jump'), hop(b, world.clientKey, 'inner')],
      { knownHostsFile: world.knownHosts, asker: refusingAsker, agent: null },
    );
    try {
      expect(conn.stillTrusted()).toBe(true);
      // Unrelated entries come and go: still trusted.
      fs.appendFileSync(world.knownHosts, `other.example ssh-ed25519 ${KEY}\n`);
      expect(conn.stillTrusted()).toBe(true);
      // The jump host's entry removed (ssh-keygen -R): no longer.
      fs.writeFileSync(
        world.knownHosts,
        trusted
          .split('\n')
          .filter((l) => !l.includes(a.hostKey().base64))
          .join('\n'),
      );
      expect(conn.stillTrusted()).toBe(false);
      fs.writeFileSync(world.knownHosts, trusted);
      expect(conn.stillTrusted()).toBe(true);
      // The inner host's entry replaced by another key, or that key revoked: no longer.
      fs.writeFileSync(world.knownHosts, trusted.replace(b.hostKey().base64, OTHER));
      expect(conn.stillTrusted()).toBe(false);
      fs.writeFileSync(
        world.knownHosts,
        `${trusted}@revoked * ${b.hostKey().type} ${b.hostKey().base64}\n`,
      );
      expect(conn.stillTrusted()).toBe(false);
    } finally {
      conn.close();
      fs.writeFileSync(world.knownHosts, trusted);
    }
  });

  it('reaches a host through its ProxyCommand, reports the command failing, and stops it with the connection', async () => {
    const pipe = path.join(__dirname, '..', 'testing', 'tcp-pipe.mjs');
    const pidFile = path.join(world.dir, 'proxy.pid');
    // A name that does not resolve: only the command can reach the host. Its key is on file under it.
    const far = { ...hop(a), host: 'proxied.invalid' };
    fs.writeFileSync(
      world.knownHosts,
      `[proxied.invalid]:${a.port} ${a.hostKey().type} ${a.hostKey().base64}\n`,
    );
    const opts = { knownHostsFile: world.knownHosts, asker: refusingAsker, agent: null };
    const proxyCommand = `'${process.execPath}' '${pipe}' 127.0.0.1 ${a.port} '${pidFile}'`;
    const conn = await connectChain([{ ...far, proxyCommand }], opts);
    expect((await conn.exec('echo $SSH_CONNECTION')).stdout).toMatch(/^127\.0\.0\.1 /);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(() => process.kill(pid, 0)).not.toThrow();
    conn.close();
    await waitUntil(() => !alive(pid), 5000);

    const err = await connectChain(
      [{ ...far, proxyCommand: `sh -c "echo 'bastion: no route to gpu' >&2; exit 7"` }],
      opts,
    ).catch((e) => e);
    expect(err).toBeInstanceOf(SshError);
    expect(err.message).toContain(
      'the ProxyCommand exited with status 7: bastion: no route to gpu',
    );

    const behind = await connectChain([hop(b), { ...far, proxyCommand }], opts).catch((e) => e);
    expect(String(behind)).toMatch(/ProxyCommand can only reach the first hop/);
  });

  it('reads byte ranges, writes atomically and uploads over SFTP', async () => {
    fs.writeFileSync(world.knownHosts, '');
    world.trust(a);
    const conn = await connectChain([hop(a)], {
      knownHostsFile: world.knownHosts,
      asker: refusingAsker,
      agent: null,
    });
    const file = path.join(world.dir, 'remote.txt');
    await conn.writeFileAtomic(file, 'line one\nline two\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('line one\nline two\n');
    expect((await conn.readFrom(file, 5, 3))!.toString()).toBe('one');
    expect((await conn.readFrom(file, 100, 10))!.length).toBe(0);
    expect(await conn.readFrom(path.join(world.dir, 'missing'), 0, 10)).toBeNull();
    const big = path.join(world.dir, 'big.bin');
    fs.writeFileSync(big, crypto.randomBytes(300_000));
    let last = 0;
    await conn.upload(big, `${big}.up`, (done) => (last = done));
    expect(fs.readFileSync(`${big}.up`).equals(fs.readFileSync(big))).toBe(true);
    expect(last).toBe(300_000);
    expect(
      (await conn.readFrom(big, 1000, 200_000))!.equals(
        fs.readFileSync(big).subarray(1000, 201_000),
      ),
    ).toBe(true);
    conn.close();
  });

  it('opens an interactive shell with a pty', async () => {
    fs.writeFileSync(world.knownHosts, '');
    world.trust(a);
    const conn = await connectChain([hop(a)], {
      knownHostsFile: world.knownHosts,
      asker: refusingAsker,
      agent: null,
    });
    const ch = await conn.shell({ term: 'xterm-256color', cols: 80, rows: 24 });
    let out = '';
    ch.on('data', (d: Buffer) => (out += d.toString()));
    ch.write('echo "tty:$(tty | cut -c1-8) term:$TERM"; exit\n');
    await new Promise((r) => ch.on('close', r));
    expect(out).toContain('tty:/dev/pts term:xterm-256color');
    conn.close();
  });

  it('reports refused connections plainly', async () => {
    const err = await connectChain(
      [
        {
          label: 'nowhere',
          host: '127.0.0.1',
          port: 1,
          user: 'root',
          identityFiles: [world.clientKey],
        },
      ],
      {
        knownHostsFile: world.knownHosts,
        asker: refusingAsker,
        agent: null,
      },
    ).catch((e) => e);
    expect(err.kind).toBe('network');
    expect(err.message).toContain('connection refused');
  });
});
