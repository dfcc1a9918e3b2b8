// The host's one place for questions to a person. The studio's UI subscribes (prompts.pending)
// and answers (prompts.answer); the CLI plugs in its terminal. With neither, questions are
// refused at once rather than left hanging: a launch from a script must fail, not wait.
import crypto from 'node:crypto';
import type { Prompt } from '../../app/protocol/prompts';
import type { HostContext } from '../host/context';
import { NoOneToAsk, type Answer, type Asker, type Question } from './asker';

export type PendingEvent = { type: 'open'; prompt: Prompt } | { type: 'closed'; id: string };

interface Open {
  prompt: Prompt;
  settle: (a: Answer | Error) => void;
  timer: NodeJS.Timeout;
}

export class PromptBroker implements Asker {
  private open = new Map<string, Open>();
  private listeners = new Set<(e: PendingEvent) => void>();
  private terminal: Asker | null = null;

  constructor(
    /** How long a question waits for an answer before it is refused. */
    private readonly answerTimeoutMs = 5 * 60_000,
  ) {}

  /** The CLI's terminal answers instead of a UI. */
  useTerminal(asker: Asker | null) {
    this.terminal = asker;
  }

  /** A UI watching for questions: first every open one, then each new one and each close. */
  subscribe(listener: (e: PendingEvent) => void): () => void {
    for (const o of this.open.values()) listener({ type: 'open', prompt: o.prompt });
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: PendingEvent) {
    for (const l of this.listeners) l(e);
  }

  private post(q: Question, timeoutMs: number): { id: string; done: Promise<Answer> } {
    const id = crypto.randomUUID();
    const prompt = { ...q, id } as Prompt;
    let settle!: (a: Answer | Error) => void;
    const done = new Promise<Answer>((resolve, reject) => {
      settle = (a) => {
        const o = this.open.get(id);
        if (!o) return;
        clearTimeout(o.timer);
        this.open.delete(id);
        this.emit({ type: 'closed', id });
        if (a instanceof Error) reject(a);
        else resolve(a);
      };
    });
    const timer = setTimeout(
      () => settle(new NoOneToAsk(`no answer within ${Math.round(timeoutMs / 1000)} s`)),
      timeoutMs,
    );
    timer.unref();
    this.open.set(id, { prompt, settle, timer });
    this.emit({ type: 'open', prompt });
    return { id, done };
  }

  async ask(q: Question, signal?: AbortSignal): Promise<Answer> {
    if (this.terminal) return this.terminal.ask(q, signal);
    if (this.listeners.size === 0)
      throw new NoOneToAsk('no one is connected to answer (no studio window, no terminal)');
    const { id, done } = this.post(q, this.answerTimeoutMs);
    const onAbort = () => this.open.get(id)?.settle(new NoOneToAsk('cancelled'));
    signal?.addEventListener('abort', onAbort);
    try {
      return await done;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Shown until dismissed (any answer) or for ten minutes; nothing waits on it. */
  tell(q: Question): void {
    if (this.terminal) return this.terminal.tell(q);
    this.post(q, 10 * 60_000).done.catch(() => undefined);
  }

  /** Settle a question. Host-key prompts take `accept`, secrets take `values`. */
  answer(id: string, a: Answer): boolean {
    const o = this.open.get(id);
    if (!o) return false;
    o.settle(a);
    return true;
  }

  dispose() {
    for (const o of [...this.open.values()]) o.settle(new NoOneToAsk('the host is shutting down'));
    this.listeners.clear();
  }
}

const brokers = new WeakMap<HostContext, PromptBroker>();

/** The broker of one host (all doors of a host share it). */
export function promptBrokerFor(ctx: HostContext): PromptBroker {
  let b = brokers.get(ctx);
  if (!b) {
    b = new PromptBroker();
    brokers.set(ctx, b);
  }
  return b;
}
