// Host services for the terminals area: handlers for app/protocol/terminals.ts.
import type { terminalsRequests, terminalsStreams } from '../../app/protocol/terminals';
import type { HostContext } from '../host/context';
import type { AreaServices } from '../host/router';
import { LOCAL_NODE } from '../nodes/local';
import { nodeManagerFor } from '../nodes/manager';
import { TerminalManager, type NodeShellOpener } from '../terminals/manager';
import { openLocalShell } from '../terminals/local';
import { sshShellBackend } from '../terminals/node-shell';

export function terminalsServices(
  ctx: HostContext,
): AreaServices<typeof terminalsRequests, typeof terminalsStreams> {
  const openNodeShell: NodeShellOpener = async (node, { cols, rows }) => {
    // "This computer" is a node too (the runs list names it so); its shell is the local one.
    if (node === LOCAL_NODE)
      return { backend: openLocalShell({ cols, rows }), title: 'This computer' };
    // The node manager's pooled connection: same host-key checks, ProxyJump and auth as probes
    // and launches, and a prompt in the UI if the node needs one.
    const nodes = nodeManagerFor(ctx);
    const conn = await nodes.connect(nodes.spec(node));
    const ch = await conn.shell({ term: 'xterm-256color', cols, rows });
    return { backend: sshShellBackend(ch), title: node };
  };
  const terminals = new TerminalManager({ openNodeShell });
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
