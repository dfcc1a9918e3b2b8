// Test fixture: two "machines" as network namespaces joined by a bridge (veth pairs, 10.77.0.1/24
// and 10.77.0.2/24), each running its own sshd inside. Every address lives inside namespaces this
// fixture creates: the bridge sits in a third "switch" namespace, and this computer reaches each
// node's sshd through a loopback forwarder that relays into the namespace (ip netns exec), so
// nothing is added to the machine's own network. The namespaces share the filesystem and pid
// space, so each node gets its own workdir.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startSshd, type Sshd, type SshWorld } from './sshd';

const PREFIX = 'spn';

export interface NsNode {
  name: string;
  netns: string;
  /** The node's address inside the namespace network. */
  address: string;
  /** Interface name inside the namespace. */
  iface: string;
  /** sshd inside the namespace (listening on address:22), reached through the forwarder. */
  sshd: Sshd;
  workdir: string;
  /** Cut this computer's open SSH connections to the node. */
  dropConnections(): void;
}

export interface TwoNodes {
  nodes: NsNode[];
  cleanup(): Promise<void>;
}

const ip = (...args: string[]) =>
  execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kill what runs inside a namespace (sshd, sessions, training processes started there). */
function killNamespaceProcesses(ns: string) {
  let pids: number[] = [];
  try {
    pids = ip('netns', 'pids', ns).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

function deleteNamespace(ns: string) {
  killNamespaceProcesses(ns);
  try {
    ip('netns', 'del', ns);
  } catch {
    /* already gone */
  }
}

/**
 * Namespaces left by an earlier run of this fixture that died without cleaning up (its pid is
 * in the name). Only this fixture's own prefix is touched.
 */
export function removeStaleNamespaces() {
  let list = '';
  try {
    list = ip('netns', 'list');
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const m = new RegExp(`^(${PREFIX}(\\d+)x\\d+[abs])\\b`).exec(line.trim());
    if (m && !pidAlive(Number(m[2]))) deleteNamespace(m[1]);
  }
}

let counter = 0;
const live = new Set<string>();
process.once('exit', () => {
  for (const ns of live) deleteNamespace(ns);
});

// Relays stdin/stdout to a TCP address; runs inside the node's namespace.
const RELAY = `
import os, select, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
fi, fo = sys.stdin.fileno(), sys.stdout.fileno()
open_in = True
while True:
    r, _, _ = select.select([s, fi] if open_in else [s], [], [])
    if s in r:
        d = s.recv(65536)
        if not d:
            break
        os.write(fo, d)
    if open_in and fi in r:
        d = os.read(fi, 65536)
        if not d:
            open_in = False
            s.shutdown(socket.SHUT_WR)
        else:
            s.sendall(d)
`;

interface Forwarder {
  port: number;
  /** Cut every open connection (a network drop as the client sees it). */
  drop(): void;
  close(): Promise<void>;
}

function startForwarder(netns: string, address: string, port: number): Promise<Forwarder> {
  const children = new Set<ChildProcess>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    const child = spawn(
      'ip',
      ['netns', 'exec', netns, '/usr/bin/python3', '-S', '-c', RELAY, address, String(port)],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    children.add(child);
    sock.pipe(child.stdin!);
    child.stdout!.pipe(sock);
    child.stdin!.on('error', () => sock.destroy());
    sock.on('error', () => child.kill('SIGKILL'));
    sock.on('close', () => child.kill('SIGKILL'));
    child.on('exit', () => {
      children.delete(child);
      sock.end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        drop: () => {
          for (const c of children) c.kill('SIGKILL');
        },
        // server.close waits for every connection to end: a client that keeps its side open
        // (a pooled SSH connection in another process) would hold the cleanup forever.
        close: () =>
          new Promise<void>((r) => {
            for (const c of children) c.kill('SIGKILL');
            for (const sock of sockets) sock.destroy();
            server.close(() => r());
          }),
      }),
    ),
  );
}

export async function startTwoNodes(
  world: SshWorld,
  names: [string, string] = ['node-a', 'node-b'],
): Promise<TwoNodes> {
  removeStaleNamespaces();
  const tag = `${PREFIX}${process.pid}x${counter++}`;
  const sw = `${tag}s`;
  const created: string[] = [];
  const sshds: Sshd[] = [];
  const forwarders: Forwarder[] = [];
  const cleanup = async () => {
    for (const f of forwarders) await f.close();
    for (const s of sshds) await s.stop();
    for (const ns of created.reverse()) {
      deleteNamespace(ns);
      live.delete(ns);
    }
  };
  try {
    const addNs = (ns: string) => {
      ip('netns', 'add', ns);
      created.push(ns);
      live.add(ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    };
    addNs(sw);
    ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', sw, 'link', 'set', 'br0', 'up');
    const nodes: NsNode[] = [];
    for (const [i, name] of names.entries()) {
      const letter = 'ab'[i];
      const ns = `${tag}${letter}`;
      addNs(ns);
      // Create the pair directly inside the two namespaces: it never appears in ours.
      const host = `v${letter}`;
      ip('-n', sw, 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('-n', sw, 'link', 'set', host, 'master', 'br0');
      ip('-n', sw, 'link', 'set', host, 'up');
      const address = `10.77.0.${i + 1}`;
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      const sshd = await startSshd(world, { name, netns: ns, listen: address, port: 22 });
      sshds.push(sshd);
      const fwd = await startForwarder(ns, address, 22);
      forwarders.push(fwd);
      const workdir = path.join(world.dir, `${name}-work`);
      fs.mkdirSync(workdir, { recursive: true });
      // Clients see the node at the forwarder; its key is the namespace sshd's.
      const reachable: Sshd = { ...sshd, host: '127.0.0.1', port: fwd.port };
      nodes.push({
        name,
        netns: ns,
        address,
        iface: 'eth0',
        sshd: reachable,
        workdir,
        dropConnections: () => fwd.drop(),
      });
    }
    return { nodes, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
