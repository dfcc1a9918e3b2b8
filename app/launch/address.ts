// Which of node 0's addresses the other nodes use for the rendezvous (torchrun's master address)
// and the collective backends. Pure: the launcher gathers each node's interfaces and routes and
// passes them here.

export interface InterfaceAddress {
  iface: string;
  address: string;
  prefix: number;
  family: 'inet' | 'inet6';
}

export interface NodeInterfaces {
  name: string;
  /**
   * The host or address this computer reaches the node by (from the node list); null when a
   * ProxyCommand carries the connection, whose host name may mean something only to the command.
   */
  sshHost: string | null;
  addresses: InterfaceAddress[];
}

export type MasterChoice =
  | { ok: true; address: string; iface: string | null; reason: string; warnings: string[] }
  | { ok: false; reason: string };

function ipv4ToInt(a: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function isIpv4(a: string): boolean {
  return ipv4ToInt(a) !== null;
}

export function isLoopback(a: string): boolean {
  return a === '::1' || a === 'localhost' || /^127\./.test(a);
}

/** Whether two IPv4 addresses share the /prefix network. */
export function sameSubnet(a: string, b: string, prefix: number): boolean {
  const x = ipv4ToInt(a);
  const y = ipv4ToInt(b);
  if (x === null || y === null || prefix < 0 || prefix > 32) return false;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return (x & mask) === (y & mask);
}

// Container and VM bridges exist with the same address on many machines (docker0 is 172.17.0.1
// everywhere); a rendezvous on them would connect each node to itself.
const VIRTUAL_BRIDGE = /^(docker\d*|virbr\d*|br-[0-9a-f]+|cni\d*|flannel|cali|tun|tailscale|zt)/;

function usable(a: InterfaceAddress): boolean {
  return (
    a.family === 'inet' &&
    !isLoopback(a.address) &&
    !a.address.startsWith('169.254.') &&
    !VIRTUAL_BRIDGE.test(a.iface)
  );
}

/**
 * Node 0's address for the rendezvous. One node: loopback. Several: an address of node 0 whose
 * subnet every other node has an address in (a shared LAN: the route between them), unique across
 * nodes; otherwise the address this computer reaches node 0 by, when it is not loopback (a routed
 * network: the launcher verifies it with the route and a connection test).
 */
export function chooseMasterAddress(nodes: NodeInterfaces[]): MasterChoice {
  if (nodes.length === 0) return { ok: false, reason: 'no nodes' };
  if (nodes.length === 1)
    return {
      ok: true,
      address: '127.0.0.1',
      iface: 'lo',
      reason: 'single node: loopback',
      warnings: [],
    };
  const [first, ...others] = nodes;
  const allAddresses = new Map<string, number>();
  for (const n of nodes)
    for (const a of n.addresses)
      allAddresses.set(a.address, (allAddresses.get(a.address) ?? 0) + 1);
  const candidates = first.addresses.filter((a) => usable(a) && allAddresses.get(a.address) === 1);
  const shared = candidates.filter((c) =>
    others.every((o) =>
      o.addresses.some(
        (b) =>
          usable(b) &&
          b.address !== c.address &&
          sameSubnet(c.address, b.address, Math.min(c.prefix, b.prefix)),
      ),
    ),
  );
  if (shared.length > 0) {
    // Prefer the network this computer already uses to reach node 0, then interface order.
    const pick = shared.find((c) => c.address === first.sshHost) ?? shared[0];
    const warnings =
      shared.length > 1
        ? [
            `${first.name} shares several networks with the other nodes (${shared.map((s) => `${s.iface} ${s.address}`).join(', ')}); using ${pick.iface}`,
          ]
        : [];
    return {
      ok: true,
      address: pick.address,
      iface: pick.iface,
      reason: `${first.name}'s ${pick.iface} ${pick.address}/${pick.prefix} is on a network every node shares`,
      warnings,
    };
  }
  if (first.sshHost !== null && !isLoopback(first.sshHost)) {
    const own = first.addresses.find((a) => a.address === first.sshHost);
    return {
      ok: true,
      address: first.sshHost,
      iface: own?.iface ?? null,
      reason: `no network is shared by every node; using the address this computer reaches ${first.name} by`,
      warnings: [
        `${first.name} (${first.sshHost}) shares no subnet with the other nodes; the rendezvous relies on routing between them`,
      ],
    };
  }
  return {
    ok: false,
    reason: `cannot choose a rendezvous address: ${first.name} shares no network with ${others.map((o) => o.name).join(', ')} and is reached ${first.sshHost === null ? 'through a ProxyCommand, whose host name the other nodes cannot be assumed to resolve' : 'through loopback'}`,
  };
}

/** Parse `ip -o -4 addr show` / `ip -o addr show` output. */
export function parseIpAddr(text: string): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  for (const line of text.split('\n')) {
    // "2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\       valid_lft …"
    const m = /^\d+:\s+([^\s:@]+)(?:@\S+)?\s+(inet6?)\s+([0-9a-fA-F.:]+)\/(\d+)/.exec(line.trim());
    if (m)
      out.push({
        iface: m[1],
        family: m[2] as 'inet' | 'inet6',
        address: m[3],
        prefix: Number(m[4]),
      });
  }
  return out;
}

/** Parse `ip -o route get ADDR`: the device and source address used to reach ADDR. */
export function parseRouteGet(text: string): { dev: string; src: string | null } | null {
  const dev = /\bdev\s+(\S+)/.exec(text);
  if (!dev) return null;
  const src = /\bsrc\s+(\S+)/.exec(text);
  return { dev: dev[1], src: src ? src[1] : null };
}

/** Group addresses by interface for display (ProbeResult.interfaces). */
export function groupByInterface(
  addrs: InterfaceAddress[],
): { name: string; addresses: string[] }[] {
  const map = new Map<string, string[]>();
  for (const a of addrs) {
    const list = map.get(a.iface) ?? [];
    list.push(`${a.address}/${a.prefix}`);
    map.set(a.iface, list);
  }
  return [...map.entries()].map(([name, addresses]) => ({ name, addresses }));
}
