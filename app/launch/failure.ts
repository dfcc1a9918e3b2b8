// Naming what went wrong on a node: which rank failed and its last lines. Pure text work on the
// logs the watcher already mirrored.

/** The last `n` non-empty lines of a log. */
export function lastLines(text: string, n: number): string[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(Math.max(0, lines.length - n));
}

/**
 * The rank whose failure ended a node. torchrun's failure report names it
 * ("rank : 2 (local_rank: 0)"); otherwise the first of the node's ranks whose log shows a Python
 * traceback or error; otherwise null.
 */
export function failingRank(nodeLog: string, rankLogs: Map<number, string>): number | null {
  const reported = /\brank\s*:\s*(\d+)\s*\(local_rank/.exec(nodeLog);
  if (reported) return Number(reported[1]);
  for (const [rank, text] of [...rankLogs.entries()].sort((a, b) => a[0] - b[0])) {
    if (/Traceback \(most recent call last\)|\bError\b|\bexception\b/i.test(text)) return rank;
  }
  return null;
}

/** One message for a failed node: what happened, then the failing rank's (or node log's) last lines. */
export function describeNodeFailure(opts: {
  node: string;
  exitCode: number | null;
  nodeLog: string;
  rankLogs: Map<number, string>;
  lines?: number;
  cause?: string;
}): string {
  const rank = failingRank(opts.nodeLog, opts.rankLogs);
  const what =
    opts.cause ??
    (opts.exitCode === null
      ? 'its training processes ended without an exit status (killed?)'
      : `torchrun exited with code ${opts.exitCode}`);
  const head = `${opts.node}${rank !== null ? ` (rank ${rank})` : ''}: ${what}`;
  const n = opts.lines ?? 20;
  let tail: string[] = [];
  if (rank !== null && opts.rankLogs.get(rank)) tail = lastLines(opts.rankLogs.get(rank)!, n);
  if (tail.length === 0) tail = lastLines(opts.nodeLog, n);
  if (tail.length === 0) {
    for (const text of opts.rankLogs.values()) {
      tail = lastLines(text, n);
      if (tail.length) break;
    }
  }
  return tail.length ? `${head}\n${tail.join('\n')}` : head;
}
