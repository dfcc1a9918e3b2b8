// `spindle runs ls|logs|stop|attach`: the run index and its runs, through the same services the
// studio uses. Also the CLI's shared pieces for talking to an in-process host.
import {
  requests,
  streams,
  type EventOf,
  type ParamsOf,
  type RequestName,
  type ResultOf,
  type StreamName,
  type StreamParamsOf,
} from '../../../app/protocol';
import type { RunEvent } from '../../../app/metrics/events';
import type { RunSummary } from '../../../app/protocol/runs';
import { createHost, type Host } from '../../host/create';
import { runManagerFor } from '../../runs/manager';
import { lockOwner } from '../../runs/lock';
import { promptBrokerFor } from '../../ssh/prompt-broker';
import { ttyAsker } from '../../ssh/tty-asker';
import { err, out, parse, UsageError, type Command } from '../command';

/** A host for one CLI command: questions go to the terminal (refused without one). */
export function cliHost(): Host {
  const host = createHost('cli');
  promptBrokerFor(host.context).useTerminal(ttyAsker());
  return host;
}

const callCtx = (signal: AbortSignal) => ({ door: 'cli' as const, signal });

export async function call<M extends RequestName>(
  host: Host,
  method: M,
  params: ParamsOf<M>,
): Promise<ResultOf<M>> {
  const p = requests[method].params.parse(params);
  const handler = host.services.requests[method] as (
    p: unknown,
    c: ReturnType<typeof callCtx>,
  ) => unknown;
  return (await handler(p, callCtx(new AbortController().signal))) as ResultOf<M>;
}

export async function subscribe<S extends StreamName>(
  host: Host,
  topic: S,
  params: StreamParamsOf<S>,
  onEvent: (e: EventOf<S>) => void,
): Promise<() => void> {
  const abort = new AbortController();
  const p = streams[topic].params.parse(params);
  const handler = host.services.streams[topic] as (
    p: unknown,
    emit: (e: unknown) => void,
    c: ReturnType<typeof callCtx>,
  ) => unknown;
  const stop = await handler(p, (e) => onEvent(e as EventOf<S>), callCtx(abort.signal));
  return () => {
    abort.abort();
    if (typeof stop === 'function') stop();
  };
}

export function formatEvent(e: RunEvent): string | null {
  switch (e.type) {
    case 'run_start':
      return `run_start  ${e.name}: world ${e.world} on ${e.nodes} node(s), ulysses ${e.layout.ulysses} × ring ${e.layout.ring} × dp ${e.layout.dp}, ZeRO ${e.layout.zero}, ${e.device}, torch ${e.versions.torch}`;
    case 'step':
      return `step ${String(e.step).padStart(5)}  loss ${e.loss.toFixed(4)}  lr ${e.lr.toExponential(2)}  grad ${e.grad_norm.toFixed(3)}  ${Math.round(e.tokens_per_s).toLocaleString('en-US')} tok/s`;
    case 'checkpoint':
      return `checkpoint step ${e.step}: ${e.path}`;
    case 'error':
      return `error${e.rank !== null ? ` (rank ${e.rank})` : ''}: ${e.message}`;
    case 'run_end':
      return `run_end    ${e.status} at step ${e.step} after ${e.elapsed_s.toFixed(1)} s`;
    default:
      return null;
  }
}

export function formatSummary(s: RunSummary): string {
  const when = new Date(s.startedAt).toISOString().replace('T', ' ').slice(0, 19);
  const progress =
    s.lastStep !== null
      ? `step ${s.lastStep}/${s.totalSteps ?? '?'}${s.lastLoss !== null ? ` loss ${s.lastLoss.toFixed(4)}` : ''}`
      : '';
  return [s.id.padEnd(44), s.status.padEnd(10), when, s.target, progress]
    .filter(Boolean)
    .join('  ');
}

/**
 * Watch a run to its end from this process: print its events from `from`, reattaching (and
 * catching up) when nobody else watches it. Ctrl+C detaches; the run goes on.
 */
export async function follow(
  host: Host,
  id: string,
  opts: { from?: number; quiet?: boolean } = {},
): Promise<number> {
  const runs = runManagerFor(host.context);
  const unsubscribe = await subscribe(
    host,
    'runs.events',
    { id, from: opts.from ?? 0 },
    ({ event }) => {
      const line = opts.quiet ? null : formatEvent(event);
      if (line) out(line);
    },
  );
  let detached = false;
  const onSigint = () => {
    detached = true;
    err(
      `\ndetached; ${id} keeps running. Watch it again: spindle runs attach ${id}   stop it: spindle runs stop ${id}`,
    );
    finish(null);
  };
  let finish!: (s: RunSummary | null) => void;
  const ended = new Promise<RunSummary | null>((r) => (finish = r));
  process.once('SIGINT', onSigint);
  runs.attach(id).then(finish, (e) => {
    err(String(e));
    finish(null);
  });
  const summary = await ended;
  process.off('SIGINT', onSigint);
  // Let the last mirrored events reach the printer before returning.
  await new Promise((r) => setTimeout(r, 300));
  unsubscribe();
  if (detached || !summary) return detached ? 130 : 1;
  err(`${summary.id}: ${summary.status}${summary.error ? `\n${summary.error}` : ''}`);
  return summary.status === 'succeeded' ? 0 : 1;
}

export const runsCommand: Command = {
  name: 'runs',
  summary: 'list runs, show their logs, stop them, or attach to one',
  usage: `Usage: spindle runs ls [--json]
       spindle runs logs ID [--tail N] [--follow]
       spindle runs stop ID
       spindle runs attach ID

  ls       the run index of this computer (newest first)
  logs     every node's and rank's log lines, prefixed by origin (--follow: keep printing)
  stop     TERM every node's process group, KILL after a grace period, check nothing is left
  attach   watch a run: catch up on its events, then follow them until it ends (Ctrl+C detaches)`,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub) throw new UsageError('expected ls, logs, stop or attach');
    const host = cliHost();
    try {
      if (sub === 'ls') {
        const { values } = parse(rest, { json: { type: 'boolean' } }, false);
        const list = await call(host, 'runs.list', {});
        if (values.json) out(JSON.stringify(list, null, 2));
        else if (list.length === 0) out('no runs yet');
        else {
          const runs = runManagerFor(host.context);
          for (const s of list) {
            const unwatched =
              !['succeeded', 'failed', 'stopped'].includes(s.status) &&
              lockOwner(runs.store.lockFile(s.id)) === null;
            out(
              formatSummary(s) +
                (unwatched ? '  (not watched now: spindle runs attach to update)' : ''),
            );
          }
        }
        return 0;
      }
      const { values, positionals } = parse(rest, {
        tail: { type: 'string' },
        follow: { type: 'boolean', short: 'f' },
      });
      const [id] = positionals;
      if (!id || positionals.length > 1) throw new UsageError('expected one run ID');
      if (sub === 'logs') {
        const tail = values.tail === undefined ? 200 : Number(values.tail);
        if (!Number.isInteger(tail) || tail < 0)
          throw new UsageError(`--tail: not a count: ${values.tail}`);
        const print = (lines: { node: string; rank: number | null; line: string }[]) => {
          for (const l of lines)
            out(`[${l.node}${l.rank !== null ? ` rank ${l.rank}` : ''}] ${l.line}`);
        };
        const stop = await subscribe(host, 'runs.logs', { id, tail }, print);
        if (values.follow) await follow(host, id, { quiet: true });
        stop();
        return 0;
      }
      if (sub === 'stop') {
        const s = await call(host, 'runs.stop', { id });
        out(`${s.id}: ${s.status}${s.error ? `\n${s.error}` : ''}`);
        return s.status === 'stopped' || s.status === 'succeeded' ? 0 : 1;
      }
      if (sub === 'attach') return await follow(host, id);
      throw new UsageError(`unknown runs command "${sub}"`);
    } finally {
      await host.dispose();
    }
  },
};
