// Joins every area's handlers into the one set of services all three doors share.
import os from 'node:os';
import { PROTOCOL_VERSION } from '../../app/protocol';
import type { HostContext } from './context';
import type { Services } from './router';

export function createServices(ctx: HostContext): Services {
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
