// A typed client over any transport that moves wire messages (Electron IPC or WebSocket).
import type { ClientMessage, HostMessage, WireError } from './wire';
import type { EventOf, ParamsOf, RequestName, ResultOf, StreamName, StreamParamsOf } from './index';

export class HostCallError extends Error {
  constructor(readonly error: WireError) {
    super(error.message);
    this.name = 'HostCallError';
  }
  get code() {
    return this.error.code;
  }
  get field() {
    return this.error.field;
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}
interface Subscription {
  onEvent: (e: unknown) => void;
  onEnd?: (error?: WireError) => void;
}

export class ProtocolClient {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private subs = new Map<number, Subscription>();

  constructor(private readonly send: (m: ClientMessage) => void) {}

  request<M extends RequestName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    const id = this.nextId++;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.send({ t: 'req', id, method, params });
    });
  }

  subscribe<S extends StreamName>(
    topic: S,
    params: StreamParamsOf<S>,
    onEvent: (e: EventOf<S>) => void,
    onEnd?: (error?: WireError) => void,
  ): () => void {
    const id = this.nextId++;
    this.subs.set(id, { onEvent: onEvent as (e: unknown) => void, onEnd });
    this.send({ t: 'sub', id, topic, params });
    return () => {
      if (this.subs.delete(id)) this.send({ t: 'unsub', id });
    };
  }

  /** Feed a message that arrived from the host. */
  receive(m: HostMessage): void {
    if (m.t === 'res') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new HostCallError(m.error));
    } else if (m.t === 'ev') {
      this.subs.get(m.id)?.onEvent(m.data);
    } else if (m.t === 'end') {
      const s = this.subs.get(m.id);
      this.subs.delete(m.id);
      s?.onEnd?.(m.error);
    }
  }

  /** The transport dropped: fail what is in flight and end every stream. */
  disconnected(reason = 'disconnected from the host'): void {
    const error: WireError = { code: 'failed', message: reason };
    for (const p of this.pending.values()) p.reject(new HostCallError(error));
    this.pending.clear();
    const subs = [...this.subs.values()];
    this.subs.clear();
    for (const s of subs) s.onEnd?.(error);
  }
}
