// The watcher's failure and stop paths on real process groups (this computer as the nodes). The
// unreachable node is a channel that cannot connect: the one narrow stand-in here, since the
// acceptance tests cover real SSH.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalChannel } from '../nodes/local';
import { RunStore, type RunNodeRecord, type RunRecord } from './record';
import { RunWatcher } from './watcher';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-watch-'));
const groups: number[] = [];
afterAll(() => {
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      /* gone, as it should be */
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Whether any member of a process group still runs (zombies excluded: PID 1 here may not reap). */
const alive = (pg: number) =>
  fs.readdirSync('/proc').some((d) => {
    if (!/^\d+$/.test(d)) return false;
    try {
      const rest = fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ').pop()!.split(' ');
      return Number(rest[2]) === pg && rest[0] !== 'Z';
    } catch {
      return false;
    }
  });

/** A detached process group that looks like a node's run: pid file, logs, events; `trapTerm` ignores TERM. */
async function fakeNodeRun(
  runDir: string,
  opts: { ignoreTerm?: boolean; events?: string[] } = {},
): Promise<number> {
  fs.mkdirSync(path.join(runDir, 'logs'), { recursive: true });
  if (opts.events)
    fs.writeFileSync(path.join(runDir, 'events.jsonl'), opts.events.join('\n') + '\n');
  fs.writeFileSync(path.join(runDir, 'logs', 'rank-0.log'), 'rank 0 working\n');
  const inner = `${opts.ignoreTerm ? "trap '' TERM" : 'trap : TERM'}; echo $$ > pid.tmp && mv pid.tmp pid; sleep 1000 > logs/node-0.log 2>&1; echo $? > exit_code.tmp && mv exit_code.tmp exit_code`;
  fs.writeFileSync(path.join(runDir, 'run.sh'), inner + '\n');
  await new LocalChannel().exec(
    `cd '${runDir}' && setsid sh run.sh < /dev/null > /dev/null 2>&1 &`,
  );
  const pidFile = path.join(runDir, 'pid');
  for (let i = 0; i < 100 && !fs.existsSync(pidFile); i++)
    await new Promise((r) => setTimeout(r, 50));
  const pg = Number(fs.readFileSync(pidFile, 'utf8'));
  groups.push(pg);
  return pg;
}

function record(id: string, nodes: RunNodeRecord[]): RunRecord {
  return {
    version: 1,
    summary: {
      id,
      name: id,
      target: 'test',
      status: 'running',
      startedAt: Date.now(),
      endedAt: null,
      lastStep: null,
      lastLoss: null,
      totalSteps: 10,
      error: null,
      configYaml: '',
    },
    target: 'ssh',
    nodes,
    plan: {
      runId: id,
      target: 'ssh',
      masterAddr: '127.0.0.1',
      masterPort: 1,
      nodes: [],
      normalizedConfig: {},
      warnings: [],
    },
    tails: {},
    nodeState: Object.fromEntries(
      nodes.map((n) => [
        n.nodeRank,
        { alive: true, exitCode: null, lastSeen: Date.now(), ended: false },
      ]),
    ),
    runEnd: null,
    stopRequested: false,
  };
}

const STEP = JSON.stringify({
  v: 1,
  t: 1,
  type: 'step',
  step: 3,
  loss: 2.5,
  lr: 0.001,
  grad_norm: 1,
  tokens: 100,
  tokens_per_s: 10,
  elapsed_s: 1,
});

describe('run watcher', () => {
  it('fails the run when a node stays unreachable, stopping the others', async () => {
    const store = new RunStore(path.join(dir, 'home1'));
    const runDir = path.join(dir, 'n0', 'runs', 'r1');
    const pg = await fakeNodeRun(runDir, { events: [STEP] });
    const rec = record('r1', [
      { nodeRank: 0, name: 'node-a', spec: null, runDir, ranks: [0] },
      { nodeRank: 1, name: 'node-b', spec: null, runDir: '/nowhere', ranks: [1] },
    ]);
    let dials = 0;
    const w = new RunWatcher(rec, {
      store,
      channel: async (n) => {
        if (n.nodeRank === 0) return new LocalChannel();
        dials++;
        throw new Error('connect ECONNREFUSED 10.0.0.2:22');
      },
      onChange: () => undefined,
      pollMs: 200,
      graceMs: 1000,
      unreachableMs: 2500,
    });
    w.start();
    const s = await w.done;
    expect(s.status).toBe('failed');
    expect(s.error).toMatch(
      /^node-b: unreachable for \d+ s \(connect ECONNREFUSED 10\.0\.0\.2:22\)/,
    );
    // Redialled with backoff (1 s, 2 s, …), not hammered every poll.
    expect(dials).toBeGreaterThanOrEqual(2);
    expect(dials).toBeLessThanOrEqual(7);
    expect(alive(pg)).toBe(false);
    expect(s.lastStep).toBe(3);
    expect(JSON.parse(fs.readFileSync(store.recordFile('r1'), 'utf8')).summary.status).toBe(
      'failed',
    );
  }, 30_000);

  it('stops with TERM, and with KILL after the grace period when TERM is ignored', async () => {
    const store = new RunStore(path.join(dir, 'home2'));
    const polite = path.join(dir, 'p', 'runs', 'r2');
    const stubborn = path.join(dir, 's', 'runs', 'r2');
    const pgs = [await fakeNodeRun(polite), await fakeNodeRun(stubborn, { ignoreTerm: true })];
    const rec = record('r2', [
      { nodeRank: 0, name: 'polite', spec: null, runDir: polite, ranks: [0] },
      { nodeRank: 1, name: 'stubborn', spec: null, runDir: stubborn, ranks: [1] },
    ]);
    const w = new RunWatcher(rec, {
      store,
      channel: async () => new LocalChannel(),
      onChange: () => undefined,
      pollMs: 200,
      graceMs: 1500,
    });
    w.start();
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    const s = await w.requestStop();
    expect(s.status).toBe('stopped');
    expect(s.error).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(pgs.map(alive)).toEqual([false, false]);
    // The polite group's shell outlived TERM long enough to record sleep's status.
    expect(fs.readFileSync(path.join(polite, 'exit_code'), 'utf8').trim()).toBe('143');
    // Logs were mirrored by node and file.
    expect(fs.readFileSync(store.logMirror('r2', 0, 'logs/rank-0.log'), 'utf8')).toBe(
      'rank 0 working\n',
    );
  }, 30_000);

  it('a status answer cut short by a dropped connection is retried, not read as dead processes', async () => {
    const store = new RunStore(path.join(dir, 'home3'));
    const runDir = path.join(dir, 'c', 'runs', 'r3');
    const pg = await fakeNodeRun(runDir, { events: [STEP] });
    const rec = record('r3', [{ nodeRank: 0, name: 'flaky', spec: null, runDir, ranks: [0] }]);
    // The connection drops mid-answer twice: the stream closes with part of stdout and no exit status.
    let cuts = 2;
    const channel = async () => {
      const real = new LocalChannel();
      return Object.assign(Object.create(real) as LocalChannel, {
        exec: async (cmd: string, o?: { stdin?: string; timeoutMs?: number }) => {
          const r = await real.exec(cmd, o);
          if (cmd !== 'sh -s' || cuts === 0) return r;
          cuts--;
          return { ...r, code: null, stdout: r.stdout.split('\n')[0] + '\n' };
        },
      });
    };
    const w = new RunWatcher(rec, {
      store,
      channel,
      onChange: () => undefined,
      pollMs: 100,
      graceMs: 1000,
      unreachableMs: 20_000,
    });
    w.start();
    for (let i = 0; i < 100 && cuts > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(cuts).toBe(0);
    await new Promise((r) => setTimeout(r, 800));
    expect(alive(pg)).toBe(true);
    expect(rec.summary.status).toBe('running');
    const s = await w.requestStop();
    expect(s.status).toBe('stopped');
    expect(alive(pg)).toBe(false);
  }, 30_000);
});
