// Host services for the terminals area: handlers for app/protocol/terminals.ts.
import type { terminalsRequests, terminalsStreams } from '../../app/protocol/terminals';
import type { HostContext } from '../host/context';
import type { AreaServices } from '../host/router';
import { TerminalManager } from '../terminals/manager';

export function terminalsServices(
  _ctx: HostContext,
): AreaServices<typeof terminalsRequests, typeof terminalsStreams> {
  const terminals = new TerminalManager();
  return {
    requests: {
      'terminals.open': async ({ target, cols, rows }) => {
        const s = await terminals.open(target, cols, rows);
        return { id: s.id, title: s.title };
      },
      'terminals.input': ({ id, data }) => {
        terminals.get(id).input(data);
        return { ok: true };
      },
      'terminals.resize': ({ id, cols, rows }) => {
        terminals.get(id).resize(cols, rows);
        return { ok: true };
      },
      'terminals.ack': ({ id, bytes }) => {
        terminals.get(id).ack(bytes);
        return { ok: true };
      },
      'terminals.close': async ({ id }) => {
        await terminals.close(id);
        return { ok: true };
      },
    },
    streams: {
      'terminals.output': ({ id }, emit) => terminals.attach(id, emit),
    },
    dispose: () => terminals.dispose(),
  };
}
