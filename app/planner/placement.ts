// Which links each parallel group's traffic crosses. The runtime's mesh is world = dp x ring x
// ulysses with ulysses innermost: rank = (dp_i * ring + ring_i) * ulysses + ulysses_i, and
// node = floor(rank / gpus_per_node). Groups are walked rank by rank, so odd node sizes (6, 3, ...)
// that split a group unevenly are handled, and the slowest group sets the time (collectives of the
// same kind run in lockstep across groups).

export interface A2aLinks {
  /** Mean, over the group's ranks, of peers on the same node and on other nodes. */
  meanIntraPeers: number;
  meanInterPeers: number;
  /** Worst rank of the worst group: it sets the all-to-all's completion time. */
  maxIntraPeers: number;
  maxInterPeers: number;
  spansNodes: boolean;
}

export interface RingLinks {
  /** Fraction of ring hops (rank -> next rank of its ring) that cross nodes, over all rings. */
  interHopFraction: number;
  /** Whether any hop crosses nodes: rings advance in lockstep, so one slow hop paces all. */
  anyInterHop: boolean;
}

export interface Placement {
  ulysses: A2aLinks;
  ring: RingLinks;
  /** ZeRO / DP collectives run over the whole world (ranks 0..N-1). */
  world: { nodes: number; spansNodes: boolean };
}

export function placement(
  ulysses: number,
  ring: number,
  dp: number,
  gpusPerNode: number,
): Placement {
  const G = gpusPerNode;
  const world = ulysses * ring * dp;

  // Ulysses groups: contiguous blocks of `ulysses` ranks. A block meets each node in one run of
  // c ranks; each of those c ranks has c-1 peers on its node and ulysses-c elsewhere. Blocks repeat
  // with period lcm(ulysses, G) ranks, so walking that many covers every distinct pattern.
  let sumIntra = 0;
  let sumInter = 0;
  let maxIntra = 0;
  let maxInter = 0;
  const period = Math.min(world, (ulysses / gcd(ulysses, G)) * G);
  for (let g = 0; g < period; g += ulysses) {
    for (let x = g; x < g + ulysses;) {
      const nodeEnd = (Math.floor(x / G) + 1) * G;
      const c = Math.min(nodeEnd, g + ulysses) - x;
      sumIntra += c * (c - 1);
      sumInter += c * (ulysses - c);
      if (c - 1 > maxIntra) maxIntra = c - 1;
      if (ulysses - c > maxInter) maxInter = ulysses - c;
      x += c;
    }
  }

  // Ring groups: `ring` ranks at stride `ulysses`, one ring per (dp index, ulysses index). The
  // pattern repeats once the dp offset (d * ring * ulysses ranks) is a whole number of nodes.
  let hops = 0;
  let interHops = 0;
  if (ring > 1) {
    const sp = ring * ulysses;
    const dpPeriod = Math.min(dp, G / gcd(sp, G));
    for (let d = 0; d < dpPeriod; d++) {
      for (let u = 0; u < ulysses; u++) {
        const base = d * ring * ulysses + u;
        for (let j = 0; j < ring; j++) {
          const from = base + j * ulysses;
          const to = base + ((j + 1) % ring) * ulysses;
          hops++;
          if (Math.floor(from / G) !== Math.floor(to / G)) interHops++;
        }
      }
    }
  }

  const nodes = Math.ceil(world / G);
  return {
    ulysses: {
      meanIntraPeers: sumIntra / period,
      meanInterPeers: sumInter / period,
      maxIntraPeers: maxIntra,
      maxInterPeers: maxInter,
      spansNodes: maxInter > 0,
    },
    ring: { interHopFraction: hops ? interHops / hops : 0, anyInterHop: interHops > 0 },
    world: { nodes, spansNodes: nodes > 1 },
  };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
