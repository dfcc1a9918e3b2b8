import fs from 'node:fs';
import { LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { formatPlanTable, gpuCatalog, planConfig } from '../../../app/planner';
import { out, parse, UsageError, type Command } from '../command';
import { ConfigFileError, readConfigFile } from '../config-file';

/** The schema accepts any GPU string; the planner needs one from the catalog. Point at the line. */
function checkGpu(file: string, gpu: string) {
  if (gpuCatalog[gpu]) return;
  const text = fs.readFileSync(file, 'utf8');
  const lines = new LineCounter();
  const node = parseDocument(text, { lineCounter: lines }).getIn(['cluster', 'gpu'], true) as YamlNode | undefined;
  const [start, end] = node?.range ?? [0, 0];
  const a = lines.linePos(start);
  const b = lines.linePos(end);
  const known = Object.keys(gpuCatalog).sort().join(', ');
  throw new ConfigFileError(file, [
    { path: 'cluster.gpu', message: `unknown GPU type "${gpu}" (known: ${known})`, line: a.line, column: a.col, endLine: b.line, endColumn: b.col },
  ]);
}

export const planCommand: Command = {
  name: 'plan',
  summary: 'predict memory, communication, step time and MFU of SP layouts, best first',
  usage: `Usage: spindle plan FILE.yaml [--json] [--max-seq] [--all] [--seq-len N] [--loss materialized|chunked]

Searches every layout the config leaves "auto" (ulysses x ring x dp, ZeRO stage, checkpointing,
offload, FPDT chunks) on the config's cluster and ranks those that fit by time per token, then by
memory headroom. Layouts that can't run are listed with the reasons.
  --json        print the plan as one JSON object (layouts, best index, per-term memory, comm by kind)
  --max-seq     also find each layout's longest sequence that fits
  --all         list every evaluated layout, not only the best of each ulysses x ring x dp
  --seq-len N   plan for N tokens instead of training.seq_len
  --loss MODE   how the runtime computes LM head + loss: materialized (default, what it does
                today) or chunked (one chunk of logits at a time)`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      json: { type: 'boolean' },
      'max-seq': { type: 'boolean' },
      all: { type: 'boolean' },
      'seq-len': { type: 'string' },
      loss: { type: 'string' },
    });
    const [file] = positionals;
    if (!file || positionals.length > 1) throw new UsageError('expected one FILE.yaml');
    let seqLen: number | undefined;
    if (values['seq-len'] !== undefined) {
      seqLen = Number(values['seq-len']);
      if (!Number.isInteger(seqLen) || seqLen < 1) throw new UsageError(`--seq-len: not a positive integer: ${values['seq-len']}`);
    }
    const loss = values.loss;
    if (loss !== undefined && loss !== 'chunked' && loss !== 'materialized') throw new UsageError(`--loss: expected chunked or materialized, got ${loss}`);
    const config = readConfigFile(file);
    checkGpu(file, config.cluster.gpu);
    const plan = planConfig(config, { maxSeq: values['max-seq'], all: values.all, seqLen, loss });
    out(values.json ? JSON.stringify(plan) : formatPlanTable(plan));
    return 0;
  },
};
