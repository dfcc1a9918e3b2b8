// The local target ("this computer") through the real protocol path: router, services, runs
// manager, torchrun and the runtime. Dry run, launch, live events and logs, stop.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostMessage } from '../../app/protocol';
import { createHost, type Host } from '../host/create';
import { Connection } from '../host/router';
import { repoRoot, waitFor } from '../testing/cli';
import { processesMentioning } from '../testing/procs';

let home: string;
let host: Host;
let conn: Connection;
const messages: HostMessage[] = [];
let nextId = 1;

function request(method: string, params: unknown): Promise<unknown> {
  const id = nextId++;
  void conn.receive({ t: 'req', id, method, params });
  return waitFor(
    `reply to ${method}`,
    () => messages.find((m) => m.t === 'res' && m.id === id),
    120_000,
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

function tinyYaml(steps: number): string {
  const cfg = parse(
    fs.readFileSync(
      path.join(repoRoot, 'resources', 'fixtures', 'configs', 'tiny-cpu.yaml'),
      'utf8',
    ),
  );
  cfg.training.steps = steps;
  cfg.cluster.gpus_per_node = 2;
  cfg.parallel.ring = 1;
  return stringify(cfg);
}

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-local-'));
  host = createHost('serve', { dataDir: home });
  conn = new Connection(host.services, 'serve', (m) => messages.push(m));
});
afterAll(async () => {
  conn?.close();
  await host?.dispose();
  fs.rmSync(home, { recursive: true, force: true });
});

describe('local target', () => {
  it('dry run shows the command and environment and starts nothing', async () => {
    const plan = (await request('runs.dryRun', { configYaml: tinyYaml(5) })) as {
      target: string;
      masterAddr: string;
      nodes: { node: string; command: string; env: Record<string, string>; runDir: string }[];
    };
    expect(plan.target).toBe('local');
    expect(plan.masterAddr).toBe('127.0.0.1');
    expect(plan.nodes).toHaveLength(1);
    expect(plan.nodes[0].node).toBe('this computer');
    expect(plan.nodes[0].command).toMatch(
      /-m torch\.distributed\.run --nnodes 1 --node_rank 0 --nproc_per_node 2 .* -m spindle train \S+\/config\.json --run-dir /,
    );
    expect(plan.nodes[0].env).toMatchObject({
      PYTHONPATH: path.join(host.context.resourcesDir, 'native'),
      GLOO_SOCKET_IFNAME: 'lo',
    });
    expect(fs.existsSync(plan.nodes[0].runDir)).toBe(false);
    expect(await request('runs.list', {})).toEqual([]);
  }, 120_000);

  it('launches, streams events and logs, and stops: TERM, the runtime ends "stopped", nothing left', async () => {
    const changes = subscribe('runs.changes', {});
    const launch = subscribe('runs.launch', { configYaml: tinyYaml(500) });
    const started = (await waitFor(
      'started',
      () => launch.events().find((e) => (e as { type: string }).type !== 'progress'),
      120_000,
    )) as {
      type: string;
      run: { id: string };
      message?: string;
    };
    expect(started.type, started.message).toBe('started');
    const id = started.run.id;
    const events = subscribe('runs.events', { id, from: 0 });
    await waitFor(
      'steps',
      () =>
        events.events().filter((e) => (e as { event: { type: string } }).event.type === 'step')
          .length >= 3,
      120_000,
    );
    const logs = subscribe('runs.logs', { id, tail: 50 });
    await waitFor(
      'rank log lines',
      () => (logs.events() as { rank: number | null }[][]).flat().some((l) => l.rank === 1),
      60_000,
    );
    const stopped = (await request('runs.stop', { id })) as {
      status: string;
      error: string | null;
    };
    expect(stopped.status).toBe('stopped');
    expect(stopped.error).toBeNull();
    await waitFor(
      'run_end',
      () =>
        events.events().some((e) => (e as { event: { type: string } }).event.type === 'run_end'),
      10_000,
    );
    const all = events.events() as { index: number; event: { type: string; status?: string } }[];
    expect(all.map((e) => e.index)).toEqual(all.map((_, i) => i));
    expect(all.at(-1)!.event).toMatchObject({ type: 'run_end', status: 'stopped' });
    expect(processesMentioning(id)).toEqual([]);
    // The index stream follows (its events are coalesced, so it may lag a moment).
    await waitFor(
      'index update',
      () =>
        (changes.events().at(-1) as { id: string; status: string }[]).find((r) => r.id === id)
          ?.status === 'stopped',
      5_000,
    );
    // A resumed subscription from an index gets only what follows.
    const later = subscribe('runs.events', { id, from: all.length - 2 });
    await waitFor('replay', () => later.events().length === 2, 10_000);
    expect(await request('runs.delete', { id })).toEqual({ ok: true });
    expect(await request('runs.list', {})).toEqual([]);
  }, 180_000);
});
