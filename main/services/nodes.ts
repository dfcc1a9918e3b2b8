// Host services for the nodes area: handlers for app/protocol/nodes.ts.
import type { nodesRequests, nodesStreams } from '../../app/protocol/nodes';
import type { HostContext } from '../host/context';
import type { AreaServices } from '../host/router';

export function nodesServices(_ctx: HostContext): AreaServices<typeof nodesRequests, typeof nodesStreams> {
  return { requests: {}, streams: {} };
}
