// Planner vs runtime for finished run directories: the real planner (app/planner) predicts each
// run's layout with the run's own torch version, app/planner/compare.ts compares term by term.
//   tsx scripts/planner-compare.ts [--json] [--perturb TERM=FACTOR ...] RUN_DIR...
// --json prints {"<run dir name>": Comparison}; the validation grid (native/tests/test_grid.py)
// and `npm run validate:planner` use it. --perturb scales a predicted term (tests of the check).
import fs from 'node:fs';
import path from 'node:path';
import { validateConfigObject } from '../app/config';
import { parseEventLine, type RunEvent } from '../app/metrics/events';
import {
  compareMemory,
  formatCompareTable,
  planForRun,
  type Comparison,
} from '../app/planner/compare';
import type { LayoutPlan } from '../app/planner';

export interface RunComparison {
  name: string;
  dir: string;
  plan: LayoutPlan;
  comparison: Comparison;
}

export function readRun(dir: string): {
  config: ReturnType<typeof validateConfigObject> extends { ok: true; config: infer C } ? C : never;
  events: RunEvent[];
} {
  const raw = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const r = validateConfigObject(raw);
  if (!r.ok)
    throw new Error(
      `${dir}/config.json: ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    );
  const events: RunEvent[] = [];
  for (const line of fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const p = parseEventLine(line);
    if (p.ok) events.push(p.event);
  }
  return { config: r.config, events } as never;
}

export function compareRun(dir: string, perturb: Record<string, number> = {}): RunComparison {
  const { config, events } = readRun(dir);
  const plan = planForRun(config, events);
  return {
    name: path.basename(path.resolve(dir)),
    dir,
    plan,
    comparison: compareMemory(plan, events, { perturb }),
  };
}

function main(argv: string[]) {
  const dirs: string[] = [];
  const perturb: Record<string, number> = {};
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') json = true;
    else if (a === '--perturb') {
      const [term, factor] = (argv[++i] ?? '').split('=');
      if (!term || !Number.isFinite(Number(factor)))
        throw new Error(`--perturb: expected TERM=FACTOR, got ${argv[i]}`);
      perturb[term] = Number(factor);
    } else dirs.push(a);
  }
  if (dirs.length === 0)
    throw new Error('usage: planner-compare.ts [--json] [--perturb TERM=FACTOR] RUN_DIR...');
  const results = dirs.map((d) => compareRun(d, perturb));
  if (json) {
    process.stdout.write(
      JSON.stringify(Object.fromEntries(results.map((r) => [r.name, r.comparison]))) + '\n',
    );
    return;
  }
  for (const r of results)
    process.stdout.write(`${r.name}\n${formatCompareTable(r.comparison)}\n\n`);
}

if (
  import.meta.url === `file://${process.argv[1]}` ||
  process.argv[1]?.endsWith('planner-compare.ts')
) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
}
