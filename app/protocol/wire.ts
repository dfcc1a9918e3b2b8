// The messages every transport carries (Electron IPC, WebSocket). Transports move these and
// nothing else; the meaning lives in the request and stream definitions.
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;

export const ErrorCode = z.enum([
  'bad_request',
  'unknown_method',
  'not_found',
  'failed',
  'unauthorized',
  'cancelled',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;
export const WireError = z.object({
  code: ErrorCode,
  message: z.string(),
  field: z.string().optional(),
});
export type WireError = z.infer<typeof WireError>;

const id = z.number().int().nonnegative();
export const ClientMessage = z.discriminatedUnion('t', [
  z.object({ t: z.literal('req'), id, method: z.string().max(100), params: z.unknown() }),
  z.object({ t: z.literal('sub'), id, topic: z.string().max(100), params: z.unknown() }),
  z.object({ t: z.literal('unsub'), id }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

export type HostMessage =
  | { t: 'res'; id: number; ok: true; result: unknown }
  | { t: 'res'; id: number; ok: false; error: WireError }
  | { t: 'ev'; id: number; data: unknown }
  | { t: 'end'; id: number; error?: WireError };

/** An error a handler throws on purpose: it reaches the UI with its code and field intact. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
