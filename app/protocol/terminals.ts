// Terminals: a local shell (node-pty) or a shell on a node (ssh2), with flow control: the host
// pauses a terminal whose unacknowledged output passes a high-water mark.
import { z } from 'zod';
import { defineRequests, defineStreams } from './define';

export const terminalsRequests = defineRequests({
  'terminals.open': {
    params: z.object({
      target: z.union([z.literal('local'), z.object({ node: z.string() })]),
      cols: z.number().int().min(2).max(1000),
      rows: z.number().int().min(1).max(500),
    }),
    result: z.object({ id: z.string(), title: z.string() }),
  },
  'terminals.input': {
    params: z.object({ id: z.string(), data: z.string().max(65536) }),
    result: z.object({ ok: z.boolean() }),
  },
  'terminals.resize': {
    params: z.object({
      id: z.string(),
      cols: z.number().int().min(2).max(1000),
      rows: z.number().int().min(1).max(500),
    }),
    result: z.object({ ok: z.boolean() }),
  },
  /** The UI has rendered `bytes` more of the output: lets a paused terminal resume. */
  'terminals.ack': {
    params: z.object({ id: z.string(), bytes: z.number().int().nonnegative() }),
    result: z.object({ ok: z.boolean() }),
  },
  'terminals.close': {
    params: z.object({ id: z.string() }),
    result: z.object({ ok: z.boolean() }),
  },
});

export const terminalsStreams = defineStreams({
  'terminals.output': {
    params: z.object({ id: z.string() }),
    event: z.discriminatedUnion('type', [
      z.object({ type: z.literal('data'), data: z.string() }),
      z.object({ type: z.literal('exit'), code: z.number().nullable() }),
    ]),
  },
});
