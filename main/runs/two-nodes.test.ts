// Acceptance: real launches across two "machines" (network namespaces with their own sshd),
// through the real CLI, real torchrun and the real runtime (2 nodes × 2 gloo processes).
import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, startCli, waitFor } from '../testing/cli';
import { startTwoNodes, type TwoNodes } from '../testing/netns';
import { processesMentioning } from '../testing/procs';
import { makeSshWorld, type SshWorld } from '../testing/sshd';
import type { RunRecord } from './record';

const shared = path.resolve(repoRoot, '..', 'shared', 'examples', 'two-nodes.yaml');
const TWO_NODES_YAML = fs.existsSync(shared)
  ? shared
  : path.join(repoRoot, 'resources', 'fixtures', 'configs', 'two-nodes.yaml');

let world: SshWorld;
let two: TwoNodes;
let env: Record<string, string>;

const lines = (file: string) =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
const nodeRunDir = (i: number, id: string) => path.join(two.nodes[i].workdir, 'runs', id);
const record = (id: string): RunRecord =>
  JSON.parse(fs.readFileSync(path.join(env.SPINDLE_HOME, 'runs', id, 'run.json'), 'utf8'));
const runIds = () =>
  fs.existsSync(path.join(env.SPINDLE_HOME, 'runs'))
    ? fs.readdirSync(path.join(env.SPINDLE_HOME, 'runs'))
    : [];

/** two-nodes.yaml with other training steps (kills and restarts need a run that lasts). */
function variant(steps: number): string {
  const cfg = parse(fs.readFileSync(TWO_NODES_YAML, 'utf8'));
  cfg.training.steps = steps;
  const file = path.join(world.dir, `two-nodes-${steps}.yaml`);
  fs.writeFileSync(file, stringify(cfg));
  return file;
}

function stepLosses(stdout: string): number[] {
  return [...stdout.matchAll(/^step\s+\d+\s+loss ([0-9.]+)/gm)].map((m) => Number(m[1]));
}

beforeAll(async () => {
  world = makeSshWorld();
  two = await startTwoNodes(world);
  env = { ...world.env, SPINDLE_STOP_GRACE_S: '5', OMP_NUM_THREADS: '1' };
  for (const n of two.nodes) {
    world.trust(n.sshd);
    const r = await runCli(
      [
        'nodes',
        'add',
        n.name,
        `root@127.0.0.1:${n.sshd.port}`,
        '--identity',
        world.clientKey,
        '--workdir',
        n.workdir,
      ],
      env,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }
}, 120_000);

afterAll(async () => {
  await two?.cleanup();
  await world?.cleanup();
});

describe('two nodes over SSH', () => {
  it("dry run prints every node's command and environment and starts nothing", async () => {
    const r = await runCli(['launch', TWO_NODES_YAML, '--dry-run'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^run tiny-two-nodes-\S+ \(ssh\), rendezvous 10\.77\.0\.1:\d+$/m);
    for (const [i, n] of two.nodes.entries()) {
      expect(r.stdout).toContain(`node ${i}: ${n.name} (127.0.0.1)`);
      expect(r.stdout).toContain(
        `--nnodes 2 --node_rank ${i} --nproc_per_node 2 --master_addr 10.77.0.1`,
      );
      expect(r.stdout).toContain(`  run dir: ${n.workdir}/runs/`);
    }
    expect(r.stdout.match(/^ {4}GLOO_SOCKET_IFNAME=eth0$/gm)).toHaveLength(2);
    expect(r.stdout.match(/^ {4}NCCL_SOCKET_IFNAME=eth0$/gm)).toHaveLength(2);
    expect(r.stdout).toMatch(/^ {4}PYTHONPATH=\S+\/runtime\/[0-9a-f]+\/native$/m);
    for (const n of two.nodes) expect(fs.existsSync(path.join(n.workdir, 'runs'))).toBe(false);
    expect(runIds()).toEqual([]);
  }, 120_000);

  it('trains across both nodes: events arrive, loss falls, the run succeeds (surviving dropped connections)', async () => {
    const cli = startCli(['launch', TWO_NODES_YAML], env);
    // Cut the SSH connections twice while it trains: the watcher redials and resumes by offset.
    const id = await waitFor(
      'the run to start',
      () => /started (\S+)/.exec(cli.stderr())?.[1],
      120_000,
    );
    const mirror = path.join(env.SPINDLE_HOME, 'runs', id, 'events.jsonl');
    await waitFor('a few events', () => lines(mirror).length >= 3, 120_000);
    for (const n of two.nodes) n.dropConnections();
    await waitFor('more events', () => lines(mirror).length >= 8, 120_000);
    for (const n of two.nodes) n.dropConnections();
    const r = await cli.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${id}: succeeded`);
    const losses = stepLosses(r.stdout);
    expect(losses).toHaveLength(20);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) - 0.3);
    // Both nodes trained: 2 processes each, rank logs on each node's own disk.
    expect(
      fs
        .readdirSync(path.join(nodeRunDir(0, id), 'logs'))
        .filter((f) => f.startsWith('rank-'))
        .sort(),
    ).toEqual(['rank-0.log', 'rank-1.log']);
    expect(
      fs
        .readdirSync(path.join(nodeRunDir(1, id), 'logs'))
        .filter((f) => f.startsWith('rank-'))
        .sort(),
    ).toEqual(['rank-2.log', 'rank-3.log']);
    const start = JSON.parse(lines(path.join(nodeRunDir(0, id), 'events.jsonl'))[0]);
    expect(start).toMatchObject({ type: 'run_start', world: 4, nodes: 2 });
    // The local mirror is byte for byte the node's file: nothing lost or doubled by the drops.
    expect(fs.readFileSync(mirror, 'utf8')).toBe(
      fs.readFileSync(path.join(nodeRunDir(0, id), 'events.jsonl'), 'utf8'),
    );
    const rec = record(id);
    expect(rec.summary).toMatchObject({
      status: 'succeeded',
      lastStep: 20,
      totalSteps: 20,
      error: null,
    });
    // NCCL/Gloo interfaces came from the route between the namespaces.
    expect(rec.plan.masterAddr).toBe('10.77.0.1');
    expect(rec.plan.nodes.map((n) => n.env.GLOO_SOCKET_IFNAME)).toEqual(['eth0', 'eth0']);
    expect(processesMentioning(id)).toEqual([]);
    const ls = await runCli(['runs', 'ls', '--json'], env);
    expect(JSON.parse(ls.stdout).find((s: { id: string }) => s.id === id).status).toBe('succeeded');
  }, 240_000);

  it('a node whose processes are killed fails the run within 30 s, with its error, and nothing is left on either node', async () => {
    const cfg = variant(400);
    const cli = startCli(['launch', cfg], env);
    const id = await waitFor(
      'the run to start',
      () => /started (\S+)/.exec(cli.stderr())?.[1],
      120_000,
    );
    await waitFor(
      'training steps',
      () =>
        lines(path.join(nodeRunDir(0, id), 'events.jsonl')).filter((l) => l.includes('"step"'))
          .length >= 2,
      120_000,
    );
    const pgid = Number(fs.readFileSync(path.join(nodeRunDir(1, id), 'pid'), 'utf8'));
    expect(pgid).toBeGreaterThan(1);
    const killedAt = Date.now();
    process.kill(-pgid, 'SIGKILL');
    const r = await cli.exited;
    const took = Date.now() - killedAt;
    expect(r.code).toBe(1);
    expect(took).toBeLessThan(30_000);
    const rec = record(id);
    expect(rec.summary.status).toBe('failed');
    expect(rec.summary.error).toMatch(
      /^node-b( \(rank \d\))?: its training processes ended without an exit status/,
    );
    expect(r.stderr).toContain(`${id}: failed`);
    expect(r.stderr).toContain('node-b');
    expect(processesMentioning(id)).toEqual([]);
  }, 240_000);

  it('reattaches after the host process is killed and catches up: final event count equals the node file', async () => {
    const cfg = variant(40);
    const cli = startCli(['launch', cfg], env);
    const id = await waitFor(
      'the run to start',
      () => /started (\S+)/.exec(cli.stderr())?.[1],
      120_000,
    );
    const mirror = path.join(env.SPINDLE_HOME, 'runs', id, 'events.jsonl');
    await waitFor('a few events', () => lines(mirror).length >= 3, 120_000);
    cli.child.kill('SIGKILL');
    await cli.exited;
    const seenBefore = lines(mirror).length;
    // The run goes on without a host.
    await waitFor(
      'the run to advance unobserved',
      () => lines(path.join(nodeRunDir(0, id), 'events.jsonl')).length > seenBefore + 3,
      120_000,
    );
    const attach = await runCli(['runs', 'attach', id], env, 180_000);
    expect(attach.code, attach.stderr).toBe(0);
    const nodeEvents = fs.readFileSync(path.join(nodeRunDir(0, id), 'events.jsonl'), 'utf8');
    const rec = record(id);
    expect(rec.summary.status).toBe('succeeded');
    expect(rec.tails['0/events.jsonl'].lines).toBe(nodeEvents.split('\n').filter(Boolean).length);
    expect(fs.readFileSync(mirror, 'utf8')).toBe(nodeEvents);
    // Attach printed every step once, from the first.
    expect(stepLosses(attach.stdout)).toHaveLength(40);
    expect(processesMentioning(id)).toEqual([]);
  }, 300_000);

  it('refuses a changed host key with both fingerprints and launches nothing', async () => {
    const a = two.nodes[0];
    const old = a.sshd.hostKey();
    await a.sshd.rotateHostKey();
    const before = runIds();
    const r = await runCli(['launch', TWO_NODES_YAML], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('WARNING: the host key of node-a');
    expect(r.stderr).toContain(old.fingerprint);
    expect(r.stderr).toContain(a.sshd.hostKey().fingerprint);
    expect(runIds()).toEqual(before);
    const known = fs.readFileSync(world.knownHosts, 'utf8');
    expect(known).toContain(old.base64);
    expect(known).not.toContain(a.sshd.hostKey().base64);
    // Put the new key on file for what follows, as a user who checked it would.
    fs.writeFileSync(
      world.knownHosts,
      known
        .split('\n')
        .filter((l) => !l.includes(old.base64))
        .join('\n'),
    );
    world.trust(a.sshd);
  }, 120_000);

  it('refuses an unknown host key when no one can be asked (no stdin), showing the fingerprint', async () => {
    const b = two.nodes[1];
    const known = fs.readFileSync(world.knownHosts, 'utf8');
    fs.writeFileSync(
      world.knownHosts,
      known
        .split('\n')
        .filter((l) => !l.includes(b.sshd.hostKey().base64))
        .join('\n'),
    );
    const before = runIds();
    const r = await runCli(['launch', TWO_NODES_YAML], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The host key of node-b');
    expect(r.stderr).toContain(b.sshd.hostKey().fingerprint);
    expect(r.stderr).toContain('no terminal');
    expect(runIds()).toEqual(before);
    expect(fs.readFileSync(world.knownHosts, 'utf8')).not.toContain(b.sshd.hostKey().base64);
  }, 120_000);
});
