// Host services for the prompts area: handlers for app/protocol/prompts.ts. Answers go straight
// to the waiting connection and are never stored.
import type { promptsRequests, promptsStreams } from '../../app/protocol/prompts';
import type { HostContext } from '../host/context';
import type { AreaServices } from '../host/router';
import { promptBrokerFor } from '../ssh/prompt-broker';

export function promptsServices(
  ctx: HostContext,
): AreaServices<typeof promptsRequests, typeof promptsStreams> {
  const broker = promptBrokerFor(ctx);
  return {
    requests: {
      'prompts.answer': ({ id, accept, values }) => ({
        ok: broker.answer(id, {
          ...(accept !== undefined ? { accept } : {}),
          ...(values !== undefined ? { values } : {}),
        }),
      }),
    },
    streams: {
      'prompts.pending': (_params, emit) => broker.subscribe(emit),
    },
    dispose: () => broker.dispose(),
  };
}
