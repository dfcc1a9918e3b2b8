// Host services for the runs area: handlers for app/protocol/runs.ts.
import { ProtocolError } from '../../app/protocol';
import type { runsRequests, runsStreams } from '../../app/protocol/runs';
import type { HostContext } from '../host/context';
import type { AreaServices } from '../host/router';
import { runManagerFor } from '../runs/manager';

export function runsServices(
  ctx: HostContext,
): AreaServices<typeof runsRequests, typeof runsStreams> {
  const runs = runManagerFor(ctx);
  const known = (id: string) => {
    try {
      return runs.get(id);
    } catch {
      throw new ProtocolError('not_found', `no run ${id}`, 'id');
    }
  };
  return {
    requests: {
      'runs.list': () => runs.list(),
      'runs.dryRun': (params, call) => runs.dryRun(params, () => {}, call.signal),
      'runs.stop': ({ id }) => {
        known(id);
        return runs.stop(id);
      },
      'runs.delete': ({ id }) => {
        known(id);
        return { ok: runs.delete(id) };
      },
    },
    streams: {
      'runs.launch': (params, emit) => {
        // The launch goes on if the window closes mid-way: its progress is only for watching.
        runs
          .launch(params, (progress) => emit({ type: 'progress', progress }))
          .then(
            (run) => emit({ type: 'started', run }),
            (e: Error) => emit({ type: 'failed', message: e.message }),
          );
      },
      'runs.events': ({ id, from }, emit) => {
        known(id);
        return runs.streamEvents(id, from, emit);
      },
      'runs.logs': ({ id, tail }, emit) => {
        known(id);
        return runs.streamLogs(id, tail, emit);
      },
      'runs.changes': (_params, emit) => runs.onIndex(emit),
    },
    dispose: () => runs.dispose(),
  };
}
