// Joins every area's handlers into the one set of services all three doors share.
import os from 'node:os';
import { PROTOCOL_VERSION, type hostRequests, type hostStreams } from '../../app/protocol';
import { filesServices } from '../services/files';
import { nodesServices } from '../services/nodes';
import { promptsServices } from '../services/prompts';
import { runsServices } from '../services/runs';
import { terminalsServices } from '../services/terminals';
import type { HostContext } from './context';
import type { AreaServices, Services } from './router';

function hostServices(ctx: HostContext): AreaServices<typeof hostRequests, typeof hostStreams> {
  return {
    requests: {
      'host.info': () => ({
        name: 'spindle' as const,
        version: ctx.version,
        protocol: PROTOCOL_VERSION,
        door: ctx.door === 'electron' ? ('electron' as const) : ('serve' as const),
        platform: os.platform(),
        arch: os.arch(),
        node: process.versions.node,
        dataDir: ctx.dataDir,
        startedAt: ctx.startedAt,
      }),
    },
    streams: {
      'host.heartbeat': ({ intervalMs }, emit) => {
        emit({ t: Date.now() });
        const timer = setInterval(() => emit({ t: Date.now() }), intervalMs);
        return () => clearInterval(timer);
      },
    },
  };
}

export function createServices(ctx: HostContext): Services & { dispose(): Promise<void> } {
  const host = hostServices(ctx);
  const files = filesServices(ctx);
  const prompts = promptsServices(ctx);
  const nodes = nodesServices(ctx);
  const runs = runsServices(ctx);
  const terminals = terminalsServices(ctx);
  const requests: Services['requests'] = {
    ...host.requests,
    ...files.requests,
    ...prompts.requests,
    ...nodes.requests,
    ...runs.requests,
    ...terminals.requests,
  };
  const streams: Services['streams'] = {
    ...host.streams,
    ...files.streams,
    ...prompts.streams,
    ...nodes.streams,
    ...runs.streams,
    ...terminals.streams,
  };
  return {
    requests,
    streams,
    // Later areas may use earlier ones (runs use nodes), so they stop first.
    async dispose() {
      for (const area of [terminals, runs, nodes, prompts, files, host]) await area.dispose?.();
    },
  };
}
