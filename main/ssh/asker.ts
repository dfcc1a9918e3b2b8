// How the SSH layer asks a person something (trust a host key, a passphrase, a password) without
// knowing who that person is: the studio's dialog (prompts service) or the CLI's terminal.
import type { Prompt } from '../../app/protocol/prompts';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
export type Question = WithoutId<Prompt>;

export interface Answer {
  accept?: boolean;
  values?: string[];
}

export interface Asker {
  /** Ask and wait. Rejects with NoOneToAsk when nobody can answer (no UI, no terminal). */
  ask(question: Question, signal?: AbortSignal): Promise<Answer>;
  /** Show something that takes no answer (a changed host key is never accepted from a prompt). */
  tell(question: Question): void;
}

export class NoOneToAsk extends Error {
  constructor(message = 'no one to ask') {
    super(message);
    this.name = 'NoOneToAsk';
  }
}

/** Refuses every question: for non-interactive uses (scripts, CI, background reattach). */
export const refusingAsker: Asker = {
  ask: () => Promise.reject(new NoOneToAsk('no one to ask (not interactive)')),
  tell: () => {},
};
