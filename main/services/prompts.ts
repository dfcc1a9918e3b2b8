// Host services for the prompts area: handlers for app/protocol/prompts.ts.
import type { promptsRequests, promptsStreams } from '../../app/protocol/prompts';
import type { HostContext } from '../host/context';
import type { AreaServices } from '../host/router';

export function promptsServices(_ctx: HostContext): AreaServices<typeof promptsRequests, typeof promptsStreams> {
  return { requests: {}, streams: {} };
}
