// The nodes and prompts services through the real protocol path (router, services) against real
// sshd servers: adding with host-key questions, passphrases, ssh-config import with ProxyJump,
// probes (runtime upload, spindle check) and a cluster probe across two namespaces.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostMessage } from '../../app/protocol';
import type { Prompt } from '../../app/protocol/prompts';
import { createHost, type Host } from '../host/create';
import { Connection } from '../host/router';
import { NodeSpec } from '../../app/protocol/nodes';
import { nodeManagerFor } from './manager';
import { waitFor } from '../testing/cli';
import { startTwoNodes, type TwoNodes } from '../testing/netns';
import { makeSshWorld, startSshd, type Sshd, type SshWorld } from '../testing/sshd';

let world: SshWorld;
let alpha: Sshd;
let beta: Sshd;
let host: Host;
let conn: Connection;
const messages: HostMessage[] = [];
let nextId = 1;
/** How the "person" in front of the UI answers each question. */
let policy: (p: Prompt) => { accept?: boolean; values?: string[] } | null = () => null;
const asked: Prompt[] = [];

function request(method: string, params: unknown, timeoutMs = 60_000): Promise<unknown> {
  const id = nextId++;
  void conn.receive({ t: 'req', id, method, params });
  return waitFor(
    `reply to ${method}`,
    () => messages.find((m) => m.t === 'res' && m.id === id),
    timeoutMs,
    50,
  ).then((m) => {
    if (m.t === 'res' && m.ok) return m.result;
    throw new Error(m.t === 'res' && !m.ok ? m.error.message : 'bad reply');
  });
}
function subscribe(topic: string, params: unknown): { id: number; events: () => unknown[] } {
  const id = nextId++;
  void conn.receive({ t: 'sub', id, topic, params });
  return {
    id,
    events: () =>
      messages.filter((m) => m.t === 'ev' && m.id === id).map((m) => (m as { data: unknown }).data),
  };
}

beforeAll(async () => {
  world = makeSshWorld();
  Object.assign(process.env, world.env);
  delete process.env.SSH_AUTH_SOCK;
  [alpha, beta] = await Promise.all([
    startSshd(world, { name: 'alpha' }),
    startSshd(world, { name: 'beta' }),
  ]);
  host = createHost('serve', { dataDir: world.env.SPINDLE_HOME });
  conn = new Connection(host.services, 'serve', (m) => {
    messages.push(m);
    const data = m.t === 'ev' ? (m.data as { type?: string; prompt?: Prompt }) : null;
    if (data?.type === 'open' && data.prompt) {
      asked.push(data.prompt);
      const a = policy(data.prompt);
      if (a)
        void conn.receive({
          t: 'req',
          id: nextId++,
          method: 'prompts.answer',
          params: { id: data.prompt.id, ...a },
        });
    }
  });
});
afterAll(async () => {
  conn?.close();
  await host?.dispose();
  await alpha?.stop();
  await beta?.stop();
  await world?.cleanup();
});

const nodeSpec = (s: Sshd, name: string, extra: Record<string, unknown> = {}) => ({
  name,
  host: s.host,
  port: s.port,
  user: 'root',
  identityFile: world.clientKey,
  ...extra,
});

describe('nodes and prompts services', () => {
  it('refuses an unknown host key when no UI is there to ask, naming the fingerprint', async () => {
    const err = await request('nodes.add', { node: nodeSpec(alpha, 'alpha') }).catch(
      (e: Error) => e,
    );
    expect(String(err)).toContain(alpha.hostKey().fingerprint);
    expect(String(err)).toContain('no one is connected');
    expect(await request('nodes.list', {})).toEqual([]);
  });

  it('asks the UI about an unknown key, saves the node once trusted, and reports list changes', async () => {
    subscribe('prompts.pending', {});
    const changes = subscribe('nodes.changes', {});
    policy = (p) => (p.kind === 'hostkey-unknown' ? { accept: true } : null);
    const entry = (await request('nodes.add', {
      node: nodeSpec(alpha, 'alpha', { workdir: path.join(world.dir, 'alpha-work') }),
    })) as { name: string };
    expect(entry.name).toBe('alpha');
    expect(asked.at(-1)).toMatchObject({
      kind: 'hostkey-unknown',
      key: { label: 'alpha', fingerprint: alpha.hostKey().fingerprint },
    });
    expect(fs.readFileSync(world.knownHosts, 'utf8')).toContain(
      `[127.0.0.1]:${alpha.port} ssh-ed25519 ${alpha.hostKey().base64}`,
    );
    await waitFor(
      'a change event',
      () => (changes.events().at(-1) as { name: string }[]).some((n) => n.name === 'alpha'),
      5000,
    );
    // The pending stream closes answered questions.
    expect(
      messages.some(
        (m) =>
          m.t === 'ev' &&
          (m.data as { type?: string; id?: string }).type === 'closed' &&
          (m.data as { id: string }).id === asked.at(-1)!.id,
      ),
    ).toBe(true);
  });

  it('asks for an encrypted key passphrase through the UI and never writes it down', async () => {
    world.trust(beta);
    policy = (p) => (p.kind === 'passphrase' ? { values: [world.passphrase] } : null);
    const r = (await request('nodes.test', {
      node: nodeSpec(beta, 'beta-enc', { identityFile: world.encryptedKey }),
    })) as { ok: boolean; message: string };
    expect(r).toEqual({ ok: true, message: expect.stringMatching(/^connected as root@/) });
    expect(asked.at(-1)).toMatchObject({
      kind: 'passphrase',
      node: 'beta-enc',
      keyFile: world.encryptedKey,
    });
    for (const f of fs.readdirSync(world.env.SPINDLE_HOME, { recursive: true }) as string[]) {
      const p = path.join(world.env.SPINDLE_HOME, f);
      if (fs.statSync(p).isFile())
        expect(fs.readFileSync(p, 'utf8')).not.toContain(world.passphrase);
    }
  });

  it('imports ~/.ssh/config hosts with ProxyJump and connects through the jump host', async () => {
    const cfg = path.join(world.dir, 'imported_config');
    fs.writeFileSync(
      cfg,
      [
        `Host jumpbox`,
        `  HostName 127.0.0.1`,
        `  Port ${alpha.port}`,
        `  User root`,
        `  IdentityFile ${world.clientKey}`,
        `Host inner`,
        `  HostName 127.0.0.1`,
        `  Port ${beta.port}`,
        `  User root`,
        `  IdentityFile ${world.clientKey}`,
        `  ProxyJump jumpbox`,
        '',
      ].join('\n'),
    );
    const hosts = (await request('nodes.sshConfigHosts', { file: cfg })) as {
      alias: string;
      proxyJump?: string;
    }[];
    expect(hosts.map((h) => [h.alias, h.proxyJump ?? null])).toEqual([
      ['jumpbox', null],
      ['inner', 'jumpbox'],
    ]);
    const imported = (await request('nodes.import', {
      aliases: ['jumpbox', 'inner'],
      file: cfg,
      cluster: 'lab',
    })) as { name: string; proxyJump?: string; cluster?: string }[];
    expect(imported.map((n) => [n.name, n.proxyJump ?? null, n.cluster])).toEqual([
      ['jumpbox', null, 'lab'],
      ['inner', 'jumpbox', 'lab'],
    ]);
    const spec = (await request('nodes.list', {})) as { name: string }[];
    const inner = spec.find((n) => n.name === 'inner')!;
    const { lastProbe: _lp, ...innerSpec } = inner as { lastProbe: unknown; name: string };
    const r = (await request('nodes.test', { node: innerSpec })) as {
      ok: boolean;
      message: string;
    };
    expect(r.ok, r.message).toBe(true);
  });

  it('imports a host reached by ProxyCommand by its alias, and connects through the command', async () => {
    const pipe = path.join(__dirname, '..', 'testing', 'tcp-pipe.mjs');
    const block = [
      'Host tunnelled',
      '  HostName proxied.invalid',
      `  Port ${alpha.port}`,
      '  User root',
      `  IdentityFile ${world.clientKey}`,
      `  ProxyCommand '${process.execPath}' '${pipe}' 127.0.0.1 %p`,
      '',
    ].join('\n');
    const own = world.env.SPINDLE_SSH_CONFIG;
    const before = fs.existsSync(own) ? fs.readFileSync(own, 'utf8') : '';
    const other = path.join(world.dir, 'other_config');
    fs.writeFileSync(other, block);
    try {
      // From a file Spindle does not connect with, the command would be lost: refused, by name.
      const refused = await request('nodes.import', { aliases: ['tunnelled'], file: other }).catch(
        (e: Error) => e,
      );
      expect(String(refused)).toMatch(/tunnelled is reached by a ProxyCommand.*add the Host there/);
      fs.writeFileSync(own, before + block);
      const hosts = (await request('nodes.sshConfigHosts', {})) as {
        alias: string;
        proxyCommand?: string;
      }[];
      expect(hosts.find((h) => h.alias === 'tunnelled')?.proxyCommand).toContain('tcp-pipe.mjs');
      const [entry] = (await request('nodes.import', { aliases: ['tunnelled'] })) as {
        name: string;
        host: string;
      }[];
      // The alias, not proxied.invalid: the command is read from the config at each connection.
      expect(entry).toMatchObject({ name: 'tunnelled', host: 'tunnelled' });
      expect(JSON.stringify(await request('nodes.list', {}))).not.toContain('tcp-pipe');
      policy = (p) => (p.kind === 'hostkey-unknown' ? { accept: true } : null);
      const { lastProbe: _lp, ...spec } = (
        (await request('nodes.list', {})) as { name: string; lastProbe: unknown }[]
      ).find((n) => n.name === 'tunnelled')!;
      const r = (await request('nodes.test', { node: spec })) as { ok: boolean; message: string };
      expect(r.ok, r.message).toBe(true);
      expect(asked.at(-1)).toMatchObject({
        kind: 'hostkey-unknown',
        key: { host: 'proxied.invalid', port: alpha.port },
      });
    } finally {
      fs.writeFileSync(own, before);
      await request('nodes.remove', { name: 'tunnelled' }).catch(() => undefined);
    }
  });

  it('reuses a pooled connection only while known_hosts still vouches for its host key', async () => {
    const nodes = nodeManagerFor(host.context);
    const spec = NodeSpec.parse(nodeSpec(alpha, 'alpha-pooled'));
    const first = await nodes.connect(spec);
    expect(await nodes.connect(spec)).toBe(first);
    const trusted = fs.readFileSync(world.knownHosts, 'utf8');
    try {
      // The user replaces alpha's entry (say, with a key they were told about): the live connection,
      // verified with the old key, is not handed out again; the new one is refused.
      fs.writeFileSync(
        world.knownHosts,
        trusted.replaceAll(alpha.hostKey().base64, beta.hostKey().base64),
      );
      policy = () => ({});
      const err = await nodes.connect(spec).catch((e: Error) => e);
      expect(String(err)).toContain('has changed');
      expect(first.closed).toBe(true);
    } finally {
      fs.writeFileSync(world.knownHosts, trusted);
    }
    const again = await nodes.connect(spec);
    expect(again).not.toBe(first);
    expect((await again.exec('echo ok')).stdout).toBe('ok\n');
  });

  it('refuses a changed host key and shows it to the UI without offering to accept', async () => {
    const old = beta.hostKey();
    await beta.rotateHostKey();
    policy = () => ({});
    const r = (await request('nodes.test', { node: nodeSpec(beta, 'beta') })) as {
      ok: boolean;
      message: string;
    };
    expect(r.ok).toBe(false);
    expect(r.message).toContain('has changed');
    expect(r.message).toContain(old.fingerprint);
    expect(r.message).toContain(beta.hostKey().fingerprint);
    expect(asked.at(-1)).toMatchObject({
      kind: 'hostkey-changed',
      key: { fingerprint: beta.hostKey().fingerprint },
      knownFingerprints: [`ssh-ed25519 ${old.fingerprint}`],
    });
    expect(fs.readFileSync(world.knownHosts, 'utf8')).not.toContain(beta.hostKey().base64);
  });

  it('probes a node: system facts, Python with PyTorch, the runtime uploaded once and its check', async () => {
    const probe = subscribe('nodes.probe', { names: ['alpha'] });
    await waitFor(
      'probe done',
      () => probe.events().some((e) => (e as { type: string }).type === 'done'),
      180_000,
    );
    const result = (
      probe.events().find((e) => (e as { type: string }).type === 'result') as {
        result: Record<string, unknown>;
      }
    ).result;
    expect(result.verdict).not.toBe('not_ready');
    expect(result.torch).toMatch(/^\d+\.\d+/);
    expect(result.python).toMatch(/^3\.\d+/);
    expect(result.cpus).toBeGreaterThan(0);
    expect(result.diskFreeBytes).toBeGreaterThan(0);
    expect(result.gpus).toEqual([]);
    expect(result.reasons).toContain('no NVIDIA GPU: CPU (gloo) runs only');
    expect(
      (result.interfaces as { name: string; addresses: string[] }[]).find((i) => i.name === 'lo')
        ?.addresses,
    ).toContain('127.0.0.1/8');
    const runtime = path.join(world.dir, 'alpha-work', 'runtime');
    const installed = fs
      .readdirSync(runtime)
      .filter((d) => fs.existsSync(path.join(runtime, d, '.complete')));
    expect(installed).toHaveLength(1);
    const uploads = () =>
      probe
        .events()
        .filter(
          (e) => (e as { progress?: { step: string; status: string } }).progress?.step === 'upload',
        );
    expect(
      uploads().some(
        (e) => (e as { progress: { detail?: string } }).progress.detail === 'uploaded',
      ),
    ).toBe(true);
    const again = subscribe('nodes.probe', { names: ['alpha'] });
    await waitFor(
      'second probe',
      () => again.events().some((e) => (e as { type: string }).type === 'done'),
      180_000,
    );
    expect(
      again
        .events()
        .some(
          (e) =>
            (e as { progress?: { step: string; detail?: string } }).progress?.detail ===
            'already there',
        ),
    ).toBe(true);
    const stored = (
      (await request('nodes.list', {})) as { name: string; lastProbe: { verdict: string } | null }[]
    ).find((n) => n.name === 'alpha');
    expect(stored?.lastProbe?.verdict).toBe(result.verdict);
  }, 240_000);

  it('probes this computer without SSH, running the runtime check in place', async () => {
    const probe = subscribe('nodes.probe', { names: ['this computer'] });
    await waitFor(
      'probe done',
      () => probe.events().some((e) => (e as { type: string }).type === 'done'),
      180_000,
    );
    const result = (
      probe.events().find((e) => (e as { type: string }).type === 'result') as {
        result: { verdict: string; torch: string | null; reasons: string[] };
      }
    ).result;
    expect(result.verdict, result.reasons.join('; ')).not.toBe('not_ready');
    expect(result.torch).toMatch(/^\d+\.\d+/);
    expect(result.reasons.some((r) => r.startsWith('spindle check'))).toBe(false);
    expect(
      probe
        .events()
        .some((e) => (e as { progress?: { step: string } }).progress?.step === 'upload'),
    ).toBe(false);
  }, 180_000);
});

describe('cluster probe across two namespaces', () => {
  let two: TwoNodes;
  beforeAll(async () => {
    two = await startTwoNodes(world, ['ns-a', 'ns-b']);
    for (const n of two.nodes) {
      world.trust(n.sshd);
      await request('nodes.add', {
        node: {
          name: n.name,
          host: '127.0.0.1',
          port: n.sshd.port,
          user: 'root',
          identityFile: world.clientKey,
          workdir: n.workdir,
          python: '/usr/bin/python3',
        },
        test: false,
      });
    }
  }, 60_000);
  afterAll(async () => {
    await two?.cleanup();
  });

  it('tests that every node reaches the first one over the network they share', async () => {
    const probe = subscribe('nodes.probe', { names: ['ns-a', 'ns-b'], cluster: true });
    await waitFor(
      'probe done',
      () => probe.events().some((e) => (e as { type: string }).type === 'done'),
      180_000,
    );
    const results = probe.events().filter((e) => (e as { type: string }).type === 'result') as {
      result: {
        node: string;
        verdict: string;
        reach: unknown[];
        interfaces: { name: string; addresses: string[] }[];
      };
    }[];
    const b = results.find((r) => r.result.node === 'ns-b')!.result;
    expect(b.reach).toEqual([
      { to: 'ns-a', address: '10.77.0.1', port: expect.any(Number), ok: true },
    ]);
    expect(b.interfaces.find((i) => i.name === 'eth0')?.addresses).toContain('10.77.0.2/24');
    expect(results.map((r) => r.result.verdict)).not.toContain('not_ready');
    expect(probe.events().find((e) => (e as { type: string }).type === 'cluster')).toEqual({
      type: 'cluster',
      warnings: [],
    });
  }, 240_000);
});
