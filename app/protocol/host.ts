import { z } from 'zod';
import { defineRequests, defineStreams } from './define';

export const HostInfo = z.object({
  name: z.literal('spindle'),
  version: z.string(),
  protocol: z.number().int(),
  door: z.enum(['electron', 'serve']),
  platform: z.string(),
  arch: z.string(),
  node: z.string(),
  dataDir: z.string(),
  startedAt: z.number(),
});
export type HostInfo = z.infer<typeof HostInfo>;

export const hostRequests = defineRequests({
  'host.info': { params: z.object({}), result: HostInfo },
});

export const hostStreams = defineStreams({
  /** Beats every few seconds so the UI can tell a live host from a stalled one. */
  'host.heartbeat': {
    params: z.object({ intervalMs: z.number().int().min(100).max(60000).default(5000) }),
    event: z.object({ t: z.number() }),
  },
});
