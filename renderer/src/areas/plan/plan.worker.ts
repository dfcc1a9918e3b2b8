// The planner off the UI thread: parse + validate + plan for each edit, and the sequence-length
// sweep of the selected layout. The page sends at most one request of each kind at a time (see
// planner-client.ts), so this worker never builds a backlog of stale edits.
/// <reference lib="webworker" />
import { parse as parseYaml } from 'yaml';
import { parseConfigText } from '../../../../app/config';
import { planConfig, planLayout, sweepSeqLen } from '../../../../app/planner';
import type { FromWorker, SweepPoint, ToWorker } from './worker-protocol';
import { pinnedChoice, planHints } from './hints';
import { MailboxWriter } from './mailbox';

const scope = self as unknown as DedicatedWorkerGlobalScope;
let mailbox: MailboxWriter | null = null;
const post = (m: FromWorker) => {
  // The mailbox first: when the message arrives, the page can already read this answer there.
  if (m.kind === 'plan') mailbox?.write(m);
  scope.postMessage(m);
};
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

function rawYaml(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return undefined;
  }
}

function handlePlan(seq: number, text: string) {
  const t0 = performance.now();
  const parsed = parseConfigText(text);
  const t1 = performance.now();
  if (!parsed.ok) {
    post({
      kind: 'plan',
      seq,
      ok: false,
      issues: parsed.issues,
      raw: rawYaml(text),
      ms: { parse: t1 - t0, plan: 0 },
    });
    return;
  }
  try {
    const plan = planConfig(parsed.config);
    const t2 = performance.now();
    const explain =
      plan.layouts.length === 0 ? planLayout(parsed.config, pinnedChoice(parsed.config)) : null;
    post({
      kind: 'plan',
      seq,
      ok: true,
      config: parsed.config,
      plan,
      explain,
      hints: planHints(parsed.config, text, plan, explain),
      ms: { parse: t1 - t0, plan: t2 - t1 },
    });
  } catch (e) {
    // A valid config the planner cannot handle (an unknown GPU type, say): show why, keep the last plan.
    post({
      kind: 'plan',
      seq,
      ok: false,
      issues: [],
      raw: parsed.config,
      config: parsed.config,
      planError: message(e),
      ms: { parse: t1 - t0, plan: performance.now() - t1 },
    });
  }
}

function handleSweep(m: Extract<ToWorker, { kind: 'sweep' }>) {
  try {
    // The longest sequence this layout fits, then the sweep with that exact length included, so
    // the chart marks the real limit rather than the nearest power of two below it.
    const layout = planLayout(m.config, m.layout, undefined, { maxSeq: true });
    const maxSeq = layout.max_seq_len && layout.max_seq_len > 0 ? layout.max_seq_len : null;
    const lens = [...new Set([...m.seqLens, ...(maxSeq ? [maxSeq] : [])])].sort((a, b) => a - b);
    const points: SweepPoint[] = sweepSeqLen(m.config, m.layout, lens).map((p) => ({
      seq_len: p.seq_len,
      feasible: p.feasible,
      peak_bytes: p.peak_bytes,
      capacity_bytes: p.capacity_bytes,
      tokens_per_s: p.tokens_per_s,
      step_time_s: p.step_time_s,
      reasons: p.reasons,
    }));
    post({ kind: 'sweep', seq: m.seq, ok: true, points, maxSeq, layout });
  } catch (e) {
    post({ kind: 'sweep', seq: m.seq, ok: false, message: message(e) });
  }
}

scope.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.kind === 'mailbox') mailbox = new MailboxWriter(m.buffer);
  else if (m.kind === 'plan') handlePlan(m.seq, m.text);
  else handleSweep(m);
};
