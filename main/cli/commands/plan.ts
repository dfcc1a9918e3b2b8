import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { parseEventLine, type RunEvent } from '../../../app/metrics/events';
import {
  compareMemory,
  formatCompareTable,
  formatPlanTable,
  gpuCatalog,
  planConfig,
  planForRun,
} from '../../../app/planner';
import type { RunConfig } from '../../../app/config';
import { out, parse, UsageError, type Command } from '../command';
import { ConfigFileError, readConfigFile } from '../config-file';

/** The schema accepts any GPU string; the planner needs one from the catalog. Point at the line. */
function checkGpu(file: string, gpu: string) {
  if (gpuCatalog[gpu]) return;
  const text = fs.readFileSync(file, 'utf8');
  const lines = new LineCounter();
  const node = parseDocument(text, { lineCounter: lines }).getIn(['cluster', 'gpu'], true) as
    YamlNode | undefined;
  const [start, end] = node?.range ?? [0, 0];
  const a = lines.linePos(start);
  const b = lines.linePos(end);
  const known = Object.keys(gpuCatalog).sort().join(', ');
  throw new ConfigFileError(file, [
    {
      path: 'cluster.gpu',
      message: `unknown GPU type "${gpu}" (known: ${known})`,
      line: a.line,
      column: a.col,
      endLine: b.line,
      endColumn: b.col,
    },
  ]);
}

export const planCommand: Command = {
  name: 'plan',
  summary: 'predict memory, communication, step time and MFU of SP layouts, best first',
  usage: `Usage: spindle plan FILE.yaml [--json] [--max-seq] [--all] [--seq-len N] [--loss materialized|chunked]
       spindle plan FILE.yaml --compare RUN_DIR [--json]

Searches every layout the config leaves "auto" (ulysses x ring x dp, ZeRO stage, checkpointing,
offload, FPDT chunks) on the config's cluster and ranks those that fit by time per token, then by
memory headroom. Layouts that can't run are listed with the reasons.
  --json        print the plan as one JSON object (layouts, best index, per-term memory, comm by kind)
  --max-seq     also find each layout's longest sequence that fits
  --all         list every evaluated layout, not only the best of each ulysses x ring x dp
  --seq-len N   plan for N tokens instead of training.seq_len
  --loss MODE   how the runtime computes LM head + loss: materialized or chunked (one chunk of
                logits at a time); default: the config's training.loss
  --compare DIR predicted vs measured memory, term by term, for the run in DIR (its events.jsonl):
                the layout the run used (run_start), the run's torch version, FILE's model and
                sequence length. Exit code 1 when a checked term is over its tolerance (states
                exact, saved activations and loss bytes 2 %; docs/planner.md §2.3)`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      json: { type: 'boolean' },
      'max-seq': { type: 'boolean' },
      all: { type: 'boolean' },
      'seq-len': { type: 'string' },
      loss: { type: 'string' },
      compare: { type: 'string' },
    });
    const [file] = positionals;
    if (!file || positionals.length > 1) throw new UsageError('expected one FILE.yaml');
    let seqLen: number | undefined;
    if (values['seq-len'] !== undefined) {
      seqLen = Number(values['seq-len']);
      if (!Number.isInteger(seqLen) || seqLen < 1)
        throw new UsageError(`--seq-len: not a positive integer: ${values['seq-len']}`);
    }
    const loss = values.loss;
    if (loss !== undefined && loss !== 'chunked' && loss !== 'materialized')
      throw new UsageError(`--loss: expected chunked or materialized, got ${loss}`);
    const config = readConfigFile(file);
    checkGpu(file, config.cluster.gpu);
    if (values.compare !== undefined)
      return compareRun(config, values.compare, { seqLen, loss, json: values.json });
    const plan = planConfig(config, { maxSeq: values['max-seq'], all: values.all, seqLen, loss });
    out(values.json ? JSON.stringify(plan) : formatPlanTable(plan));
    return 0;
  },
};

/** Events of a run directory (its events.jsonl); unparseable lines are skipped, as the Runs area does. */
export function readRunEvents(runDir: string): RunEvent[] {
  const file = path.join(runDir, 'events.jsonl');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(
      `--compare: cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file (is it a run directory?)' : (e as Error).message}`,
    );
  }
  const events: RunEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const r = parseEventLine(line);
    if (r.ok) events.push(r.event);
  }
  return events;
}

function compareRun(
  config: RunConfig,
  runDir: string,
  o: { seqLen?: number; loss?: 'chunked' | 'materialized'; json?: boolean },
): number {
  const events = readRunEvents(runDir);
  if (!events.some((e) => e.type === 'memory'))
    throw new UsageError(
      `--compare: ${runDir} has no memory event yet (written after the first step)`,
    );
  let plan;
  try {
    plan = planForRun(config, events, { seqLen: o.seqLen, loss: o.loss });
  } catch (e) {
    throw new UsageError(`--compare: ${(e as Error).message}`);
  }
  const c = compareMemory(plan, events);
  out(o.json ? JSON.stringify(c) : formatCompareTable(c));
  return c.ok ? 0 : 1;
}
