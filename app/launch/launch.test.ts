import { describe, expect, it } from 'vitest';
import { RunConfig, normalizeConfig } from '../config';
import {
  buildLaunchPlan,
  chooseMasterAddress,
  describeNodeFailure,
  expandHome,
  failingRank,
  makeRunId,
  parseIpAddr,
  parseRouteGet,
  parseStatus,
  ranksOfNode,
  sameSubnet,
  shq,
  signalScript,
  type NodeInterfaces,
} from '.';
import { TINY_ARCH } from '../planner/fixtures.test-util';

describe('shell quoting', () => {
  it('leaves plain words and quotes everything else', () => {
    expect(shq('/w/runs/a-1')).toBe('/w/runs/a-1');
    expect(shq('')).toBe("''");
    expect(shq('a b')).toBe("'a b'");
    expect(shq("it's; rm -rf /")).toBe(`'it'\\''s; rm -rf /'`);
    expect(shq('$(id)')).toBe("'$(id)'");
  });
  it('expands ~ against the node home only at the start', () => {
    expect(expandHome('~/.spindle', '/home/u')).toBe('/home/u/.spindle');
    expect(expandHome('~', '/home/u')).toBe('/home/u');
    expect(expandHome('/x/~/y', '/home/u')).toBe('/x/~/y');
  });
});

const IP_A = `1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\\       valid_lft forever
7: eth0@if8    inet 10.77.0.1/24 scope global eth0\\       valid_lft forever preferred_lft forever
7: eth0@if8    inet6 fe80::1/64 scope link \\       valid_lft forever preferred_lft forever`;

describe('master address', () => {
  const a = parseIpAddr(IP_A);
  it('parses ip -o addr', () => {
    expect(a.map((x) => `${x.iface} ${x.address}/${x.prefix}`)).toEqual([
      'lo 127.0.0.1/8',
      'docker0 172.17.0.1/16',
      'eth0 10.77.0.1/24',
      'eth0 fe80::1/64',
    ]);
  });
  it('picks node 0 address on the network every node shares, skipping docker0 and loopback', () => {
    const nodes: NodeInterfaces[] = [
      { name: 'a', sshHost: '127.0.0.1', addresses: a },
      {
        name: 'b',
        sshHost: '127.0.0.1',
        addresses: parseIpAddr(IP_A.replace('10.77.0.1', '10.77.0.2')),
      },
    ];
    const c = chooseMasterAddress(nodes);
    expect(c.ok && c.address).toBe('10.77.0.1');
    expect(c.ok && c.iface).toBe('eth0');
  });
  it('falls back to the SSH address on routed networks and refuses loopback', () => {
    const b = [{ iface: 'eth1', address: '192.168.5.9', prefix: 24, family: 'inet' as const }];
    const routed = chooseMasterAddress([
      { name: 'a', sshHost: 'gpu-a.example', addresses: a },
      { name: 'b', sshHost: 'gpu-b.example', addresses: b },
    ]);
    expect(routed.ok && routed.address).toBe('gpu-a.example');
    expect(routed.ok && routed.warnings.length).toBe(1);
    const none = chooseMasterAddress([
      { name: 'a', sshHost: '127.0.0.1', addresses: a },
      { name: 'b', sshHost: '127.0.0.1', addresses: b },
    ]);
    expect(none.ok).toBe(false);
    // Reached by a ProxyCommand: its HostName (an instance id, say) is no address to hand on.
    const tunnelled = chooseMasterAddress([
      { name: 'a', sshHost: null, addresses: a },
      { name: 'b', sshHost: 'gpu-b.example', addresses: b },
    ]);
    expect(tunnelled.ok).toBe(false);
    expect(!tunnelled.ok && tunnelled.reason).toMatch(/a shares no network with b .*ProxyCommand/);
  });
  it('single node uses loopback', () => {
    expect(chooseMasterAddress([{ name: 'x', sshHost: 'h', addresses: a }])).toMatchObject({
      ok: true,
      address: '127.0.0.1',
    });
  });
  it('subnet maths and route parsing', () => {
    expect(sameSubnet('10.1.2.3', '10.1.2.200', 24)).toBe(true);
    expect(sameSubnet('10.1.2.3', '10.1.3.3', 24)).toBe(false);
    expect(sameSubnet('10.1.2.3', '10.1.3.3', 16)).toBe(true);
    expect(parseRouteGet('10.77.0.1 dev eth0 src 10.77.0.2 uid 0 \\    cache')).toEqual({
      dev: 'eth0',
      src: '10.77.0.2',
    });
    expect(parseRouteGet('RTNETLINK answers: Network is unreachable')).toBeNull();
  });
});

const twoNodes = RunConfig.parse({
  version: 1,
  name: 'tiny-two-nodes',
  model: { architecture: TINY_ARCH },
  training: { seq_len: 512, steps: 20 },
  parallel: { ulysses: 2, ring: 2, zero: 1, checkpointing: 'none' },
  cluster: { gpu: 'cpu', nodes: 2, gpus_per_node: 2 },
  launch: { target: 'ssh', hosts: ['node-a', 'node-b'], env: { EXTRA: "x y'z" } },
});

describe('launch plan', () => {
  const plan = buildLaunchPlan({
    runId: 'tiny-20250101-000000-ab12',
    target: 'ssh',
    config: normalizeConfig(twoNodes),
    masterAddr: '10.77.0.1',
    masterPort: 29517,
    nodes: [
      {
        name: 'node-a',
        host: '127.0.0.1',
        workdir: '/w/a',
        python: '/usr/bin/python3',
        bundleDir: '/w/a/runtime/abc',
        iface: 'eth0',
      },
      {
        name: 'node-b',
        host: '127.0.0.1',
        workdir: '/w/b dir',
        python: 'python3',
        bundleDir: '/w/b dir/runtime/abc',
        iface: 'eth1',
      },
    ],
  });
  it('gives every node its torchrun line with its rank and the shared master', () => {
    expect(plan.nodes.map((n) => n.rank)).toEqual([0, 1]);
    expect(plan.nodes[0].command).toBe(
      '/usr/bin/python3 -m torch.distributed.run --nnodes 2 --node_rank 0 --nproc_per_node 2 --master_addr 10.77.0.1 --master_port 29517 --max_restarts 0 -m spindle train /w/a/runs/tiny-20250101-000000-ab12/config.json --run-dir /w/a/runs/tiny-20250101-000000-ab12',
    );
    expect(plan.nodes[1].command).toContain('--node_rank 1');
    expect(plan.nodes[1].command).toContain(
      "'/w/b dir/runs/tiny-20250101-000000-ab12/config.json'",
    );
  });
  it('sets the socket interfaces from the route and PYTHONPATH to the bundle', () => {
    expect(plan.nodes[1].env).toMatchObject({
      NCCL_SOCKET_IFNAME: 'eth1',
      GLOO_SOCKET_IFNAME: 'eth1',
      PYTHONPATH: '/w/b dir/runtime/abc/native',
      EXTRA: "x y'z",
    });
    expect(plan.nodes[1].script).toContain(`export EXTRA='x y'\\''z'`);
    expect(plan.nodes[0].script).toContain('setsid sh -c');
  });
  it('numbers ranks node by node', () => {
    expect(ranksOfNode(1, 2)).toEqual([2, 3]);
  });
});

describe('status, signals and failures', () => {
  it('parses the status script output', () => {
    expect(
      parseStatus('pid=4242\nalive=1\nsize=120 events.jsonl\nsize=-1 logs/rank-0.log\nend=1\n'),
    ).toEqual({
      complete: true,
      missing: false,
      pid: 4242,
      alive: true,
      exitCode: null,
      sizes: { 'events.jsonl': 120 },
    });
    expect(parseStatus('pid=12\nalive=0\nexit=1\n').exitCode).toBe(1);
    expect(parseStatus('missing=1\nend=1\n')).toMatchObject({ missing: true, complete: true });
    // Cut short: no end line, so no verdict about the processes can be drawn from it.
    expect(parseStatus('pid=4242\n').complete).toBe(false);
  });
  it('never signals a non-numeric or tiny pid', () => {
    const s = signalScript('/w/r', 'TERM');
    expect(s).toContain(`case "$pg" in ''|*[!0-9]*)`);
    expect(s).toContain('[ "$pg" -gt 1 ]');
  });
  it('names the failing rank from torchrun or the rank logs', () => {
    const torchrunLog =
      'ChildFailedError:\n  time : 2025\n  host : b\n  rank : 3 (local_rank: 1)\n  exitcode : 1';
    expect(failingRank(torchrunLog, new Map())).toBe(3);
    expect(
      failingRank(
        '',
        new Map([
          [2, 'step 1\n'],
          [3, 'Traceback (most recent call last):\nValueError: x'],
        ]),
      ),
    ).toBe(3);
    const msg = describeNodeFailure({
      node: 'node-b',
      exitCode: 1,
      nodeLog: torchrunLog,
      rankLogs: new Map([[3, 'a\nb\nRuntimeError: boom\n']]),
    });
    expect(msg.split('\n')[0]).toBe('node-b (rank 3): torchrun exited with code 1');
    expect(msg).toContain('RuntimeError: boom');
  });
  it('makes readable run ids', () => {
    expect(makeRunId('tiny two', new Date(Date.UTC(2025, 0, 2, 3, 4, 5)), 'ab12')).toBe(
      'tiny-two-20250102-030405-ab12',
    );
  });
});
