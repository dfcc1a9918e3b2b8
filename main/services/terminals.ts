// Host services for the terminals area: handlers for app/protocol/terminals.ts.
import type { terminalsRequests, terminalsStreams } from '../../app/protocol/terminals';
import type { HostContext } from '../host/context';
import type { AreaServices } from '../host/router';

export function terminalsServices(_ctx: HostContext): AreaServices<typeof terminalsRequests, typeof terminalsStreams> {
  return { requests: {}, streams: {} };
}
