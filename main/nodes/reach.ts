// Rendezvous reachability: a short-lived listener on node 0 and a TCP connect from every other
// node to the chosen address. torchrun and NCCL hang for minutes on an unreachable master; this
// says so in seconds, before anything starts.
import { connectScript, listenerScript, parseReach } from '../../app/launch';
import type { NodeChannel } from '../ssh/connection';

export interface ReachPeer {
  name: string;
  ch: NodeChannel;
  python: string;
}

export interface ReachOutcome {
  port: number;
  results: { from: string; ok: boolean; error?: string }[];
}

/** Listen on node 0 (port 0: a free one, which becomes the rendezvous port) and connect from each peer. */
export async function reachTest(
  master: ReachPeer,
  peers: ReachPeer[],
  address: string,
  port = 0,
  timeoutS = 8,
): Promise<ReachOutcome> {
  const listener = master.ch.start('sh -s', {
    stdin: listenerScript(master.python, port, peers.length, timeoutS + 4),
  });
  const chosen = await new Promise<number>((resolve, reject) => {
    let buf = '';
    listener.onStdout((chunk) => {
      buf += chunk;
      const m = /^port (\d+)$/m.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    listener.done.then(
      (r) =>
        reject(
          new Error(
            `${master.name}: the rendezvous listener did not start: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? `exit ${r.code}`}`,
          ),
        ),
      reject,
    );
  });
  const results = await Promise.all(
    peers.map(async (p) => {
      try {
        const r = await p.ch.exec('sh -s', {
          stdin: connectScript(p.python, address, chosen, timeoutS),
          timeoutMs: (timeoutS + 20) * 1000,
        });
        const reach = parseReach(r.stdout + r.stderr);
        return { from: p.name, ...reach };
      } catch (e) {
        return { from: p.name, ok: false, error: (e as Error).message };
      }
    }),
  );
  await listener.done.catch(() => undefined);
  return { port: chosen, results };
}
