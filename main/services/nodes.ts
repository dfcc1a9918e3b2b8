// Host services for the nodes area: handlers for app/protocol/nodes.ts.
import { ProtocolError } from '../../app/protocol';
import type { nodesRequests, nodesStreams } from '../../app/protocol/nodes';
import type { HostContext } from '../host/context';
import type { AreaServices } from '../host/router';
import { nodeManagerFor } from '../nodes/manager';

export function nodesServices(
  ctx: HostContext,
): AreaServices<typeof nodesRequests, typeof nodesStreams> {
  const nodes = nodeManagerFor(ctx);
  return {
    requests: {
      'nodes.list': () => nodes.store.list(),
      'nodes.add': ({ node, test }, call) => nodes.add(node, test, call.signal),
      'nodes.update': ({ name, node }) => {
        if (!nodes.store.get(name))
          throw new ProtocolError('not_found', `no node named ${name}`, 'name');
        return nodes.store.put(node, name);
      },
      'nodes.remove': ({ name }) => ({ ok: nodes.store.remove(name) }),
      'nodes.sshConfigHosts': ({ file }) => nodes.sshConfigHosts(file),
      'nodes.import': ({ aliases, file, cluster }) => nodes.import(aliases, file, cluster),
      'nodes.test': ({ node }, call) => nodes.test(node, call.signal),
    },
    streams: {
      'nodes.probe': ({ names, cluster }, emit, call) => {
        // Results are emitted as they come; the stream's last event is `done`.
        nodes
          .probe(
            names,
            cluster,
            (e) => {
              if (e.type === 'progress' && e.progress)
                emit({ type: 'progress', progress: e.progress });
              else if (e.type === 'result' && e.result) emit({ type: 'result', result: e.result });
              else if (e.type === 'cluster') emit({ type: 'cluster', warnings: e.warnings ?? [] });
              else if (e.type === 'done') emit({ type: 'done' });
            },
            call.signal,
          )
          .catch((err: Error) => {
            emit({
              type: 'progress',
              progress: { step: 'probe', status: 'failed', detail: err.message },
            });
            emit({ type: 'done' });
          });
      },
      'nodes.changes': (_params, emit) => {
        emit(nodes.store.list());
        return nodes.store.onChange((list) => emit(list));
      },
    },
    dispose: () => nodes.dispose(),
  };
}
