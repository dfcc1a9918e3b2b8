// Host services for the runs area: handlers for app/protocol/runs.ts.
import type { runsRequests, runsStreams } from '../../app/protocol/runs';
import type { HostContext } from '../host/context';
import type { AreaServices } from '../host/router';

export function runsServices(_ctx: HostContext): AreaServices<typeof runsRequests, typeof runsStreams> {
  return { requests: {}, streams: {} };
}
