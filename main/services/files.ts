// Host services for the files area: handlers for app/protocol/files.ts.
import type { filesRequests, filesStreams } from '../../app/protocol/files';
import type { HostContext } from '../host/context';
import type { AreaServices } from '../host/router';

export function filesServices(_ctx: HostContext): AreaServices<typeof filesRequests, typeof filesStreams> {
  return { requests: {}, streams: {} };
}
