import { formatPlanTable, planConfig } from '../../../app/planner';
import { out, parse, UsageError, type Command } from '../command';
import { readConfigFile } from '../config-file';

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
    const plan = planConfig(config, { maxSeq: values['max-seq'], all: values.all, seqLen, loss });
    out(values.json ? JSON.stringify(plan) : formatPlanTable(plan));
    return 0;
  },
};
