// Building blocks of the UI <-> host contract. A request has params and a result; a stream has
// params and a sequence of events. Both are checked with zod at the host boundary.
import type { z } from 'zod';

export interface RequestDef<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  params: P;
  result: R;
}
export interface StreamDef<P extends z.ZodType = z.ZodType, E extends z.ZodType = z.ZodType> {
  params: P;
  event: E;
}
export const defineRequests = <T extends Record<string, RequestDef>>(defs: T): T => defs;
export const defineStreams = <T extends Record<string, StreamDef>>(defs: T): T => defs;
