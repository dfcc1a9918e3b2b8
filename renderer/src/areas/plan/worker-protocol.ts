// Messages between the Plan area and its planner worker. Every request carries a sequence number;
// the UI applies only results newer than what it shows, so a slow answer never overwrites a fresh one.
import type { ConfigIssue, RunConfig } from '../../../../app/config';
import type { LayoutChoice, LayoutPlan, PlanResult } from '../../../../app/planner/types';

export type ToWorker =
  /** Shared memory where the worker also publishes each plan answer (see mailbox.ts). */
  | { kind: 'mailbox'; buffer: SharedArrayBuffer }
  | { kind: 'plan'; seq: number; text: string }
  | { kind: 'sweep'; seq: number; config: RunConfig; layout: LayoutChoice; seqLens: number[] };

/** One point of a layout's sequence-length sweep. */
export interface SweepPoint {
  seq_len: number;
  feasible: boolean;
  peak_bytes: number;
  capacity_bytes: number;
  tokens_per_s: number;
  step_time_s: number;
  reasons: string[];
}

export type PlanReply =
  | {
      kind: 'plan';
      seq: number;
      ok: true;
      config: RunConfig;
      plan: PlanResult;
      /** Warnings the planner's verdict puts on fields of the YAML (e.g. a fixed ulysses that cannot work). */
      hints: ConfigIssue[];
      /** When the search listed no layout at all: the layout the config pins down, evaluated, with its reasons. */
      explain: LayoutPlan | null;
      ms: { parse: number; plan: number };
    }
  | {
      kind: 'plan';
      seq: number;
      ok: false;
      issues: ConfigIssue[];
      /** The document as plain data when it is valid YAML (the quick controls still show it); else undefined. */
      raw: unknown;
      /** Set when the config is valid but the planner failed on it. */
      planError?: string;
      config?: RunConfig;
      ms: { parse: number; plan: number };
    };

export type SweepReply =
  | {
      kind: 'sweep';
      seq: number;
      ok: true;
      points: SweepPoint[];
      maxSeq: number | null;
      layout: LayoutPlan | null;
    }
  | { kind: 'sweep'; seq: number; ok: false; message: string };

export type FromWorker = PlanReply | SweepReply;
