// The host side of the protocol: validates every incoming message and its payload, dispatches to
// the service handlers, and keeps each connection's streams. Transports only move messages.
import { z } from 'zod';
import {
  ClientMessage,
  ProtocolError,
  isRequestName,
  isStreamName,
  requests,
  streams,
  type EventOf,
  type HostMessage,
  type RequestName,
  type ResultOf,
  type StreamName,
  type WireError,
  type RequestDef,
  type StreamDef,
} from '../../app/protocol';

export interface CallContext {
  /** Which door the call came through. */
  door: 'electron' | 'serve' | 'cli';
  /** Aborted when the connection closes or the stream is unsubscribed. */
  signal: AbortSignal;
}

type Params<M extends RequestName> = z.output<(typeof requests)[M]['params']>;
type SParams<S extends StreamName> = z.output<(typeof streams)[S]['params']>;

export type RequestHandlers = {
  [M in RequestName]: (params: Params<M>, ctx: CallContext) => Promise<ResultOf<M>> | ResultOf<M>;
};
/** A stream handler starts producing events and returns how to stop. */
export type StreamHandlers = {
  [S in StreamName]: (
    params: SParams<S>,
    emit: (e: EventOf<S>) => void,
    ctx: CallContext,
  ) => void | (() => void) | Promise<void | (() => void)>;
};

export interface Services {
  requests: RequestHandlers;
  streams: StreamHandlers;
}

/** One area's handlers for its own part of the contract (app/protocol/<area>.ts). */
export interface AreaServices<
  R extends Record<string, RequestDef>,
  S extends Record<string, StreamDef>,
> {
  requests: {
    [M in keyof R]: (
      params: z.output<R[M]['params']>,
      ctx: CallContext,
    ) => Promise<z.output<R[M]['result']>> | z.output<R[M]['result']>;
  };
  streams: {
    [K in keyof S]: (
      params: z.output<S[K]['params']>,
      emit: (e: z.output<S[K]['event']>) => void,
      ctx: CallContext,
    ) => void | (() => void) | Promise<void | (() => void)>;
  };
  /** Stops watchers, terminals and timers when the host shuts down. */
  dispose?: () => Promise<void> | void;
}

function toWireError(e: unknown): WireError {
  if (e instanceof ProtocolError)
    return { code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) };
  if (e instanceof z.ZodError) {
    const first = e.issues[0];
    const field = first?.path.join('.');
    return {
      code: 'bad_request',
      message: first ? `${field || 'params'}: ${first.message}` : 'invalid',
      ...(field ? { field } : {}),
    };
  }
  return { code: 'failed', message: e instanceof Error ? e.message : String(e) };
}

/** One client's session with the host. `send` delivers host messages to that client. */
export class Connection {
  private streams = new Map<number, { abort: AbortController; stop?: () => void }>();
  private closed = false;

  constructor(
    private readonly services: Services,
    private readonly door: CallContext['door'],
    private readonly send: (m: HostMessage) => void,
  ) {}

  private post(m: HostMessage) {
    if (!this.closed) this.send(m);
  }

  /** Handle one raw message from the client. Invalid messages are answered, never thrown. */
  async receive(raw: unknown): Promise<void> {
    const parsed = ClientMessage.safeParse(raw);
    if (!parsed.success) {
      const id = typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : 0;
      this.post({
        t: 'res',
        id,
        ok: false,
        error: { code: 'bad_request', message: 'malformed message' },
      });
      return;
    }
    const m = parsed.data;
    if (m.t === 'req') return this.request(m.id, m.method, m.params);
    if (m.t === 'sub') return this.subscribe(m.id, m.topic, m.params);
    this.unsubscribe(m.id);
  }

  private async request(id: number, method: string, rawParams: unknown) {
    if (!isRequestName(method)) {
      this.post({
        t: 'res',
        id,
        ok: false,
        error: { code: 'unknown_method', message: `unknown method ${method}` },
      });
      return;
    }
    const abort = new AbortController();
    try {
      const params = requests[method].params.parse(rawParams ?? {});
      const handler = this.services.requests[method] as (p: unknown, c: CallContext) => unknown;
      const result = await handler(params, { door: this.door, signal: abort.signal });
      // Results are checked too: a host bug should surface here, not as a broken UI.
      this.post({ t: 'res', id, ok: true, result: requests[method].result.parse(result) });
    } catch (e) {
      this.post({ t: 'res', id, ok: false, error: toWireError(e) });
    }
  }

  private async subscribe(id: number, topic: string, rawParams: unknown) {
    if (!isStreamName(topic)) {
      this.post({
        t: 'end',
        id,
        error: { code: 'unknown_method', message: `unknown stream ${topic}` },
      });
      return;
    }
    const abort = new AbortController();
    const entry: { abort: AbortController; stop?: () => void } = { abort };
    this.streams.set(id, entry);
    try {
      const params = streams[topic].params.parse(rawParams ?? {});
      const handler = this.services.streams[topic] as (
        p: unknown,
        emit: (e: unknown) => void,
        c: CallContext,
      ) => unknown;
      const stop = await handler(
        params,
        (e) => {
          if (!abort.signal.aborted) this.post({ t: 'ev', id, data: e });
        },
        { door: this.door, signal: abort.signal },
      );
      if (typeof stop === 'function') {
        if (abort.signal.aborted) stop();
        else entry.stop = stop as () => void;
      }
    } catch (e) {
      this.streams.delete(id);
      this.post({ t: 'end', id, error: toWireError(e) });
    }
  }

  private unsubscribe(id: number) {
    const s = this.streams.get(id);
    if (!s) return;
    this.streams.delete(id);
    s.abort.abort();
    s.stop?.();
  }

  close() {
    for (const id of [...this.streams.keys()]) this.unsubscribe(id);
    this.closed = true;
  }
}
