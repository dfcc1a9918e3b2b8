// Benchmark: the computing part of "edit → updated layout table" in the Plan area, for the
// Llama-3-8B 128k example on a 64-GPU cluster (8 nodes × 8 H100). Each edit is one keystroke of
// typing new sequence lengths, exactly what the e2e test types; for each, it does what the page
// and its planner worker do between the keystroke and React rendering the rows:
//   parse + validate the YAML, plan every layout, derive editor hints, structured-clone the reply
//   (postMessage copies it once into the page), and build the table's row model.
// What it leaves out is the browser: the event loop, Monaco's own keystroke work and React's DOM
// commit. e2e/plan-timing.spec.ts measures the whole path in Chromium (User Timing
// "spindle.plan.update") and records its p95 next to this one.
// Run: npx tsx bench/plan-update.ts [--json]
import fs from 'node:fs';
import path from 'node:path';
import { parseConfigText } from '../app/config';
import { planConfig, planLayout } from '../app/planner';
import { pinnedChoice, planHints } from '../renderer/src/areas/plan/hints';
import { tableRows } from '../renderer/src/areas/plan/rows';
import { applyEdits } from '../renderer/src/areas/plan/yaml-edit';
import { TYPED_SEQ_LENS } from './typed-seq-lens';

const BUDGET_MS = 16;

/** The texts the editor holds after each keystroke of typing `seq_len: <n>` over the old line. */
export function keystrokeTexts(base: string): string[] {
  const lines = base.split('\n');
  const at = lines.findIndex((l) => l.trimStart().startsWith('seq_len:'));
  const indent = lines[at].slice(0, lines[at].length - lines[at].trimStart().length);
  const out: string[] = [];
  for (const len of TYPED_SEQ_LENS) {
    const typed = `seq_len: ${len}`;
    for (let i = 1; i <= typed.length; i++) {
      lines[at] = indent + typed.slice(0, i);
      out.push(lines.join('\n'));
    }
  }
  return out;
}

/** One edit, as the worker and the page process it. Returns whether the table would update. */
function processEdit(text: string): boolean {
  const parsed = parseConfigText(text);
  if (!parsed.ok) {
    structuredClone(parsed.issues);
    return false;
  }
  const plan = planConfig(parsed.config);
  const explain =
    plan.layouts.length === 0 ? planLayout(parsed.config, pinnedChoice(parsed.config)) : null;
  const reply = {
    kind: 'plan',
    ok: true,
    config: parsed.config,
    plan,
    explain,
    hints: planHints(parsed.config, text, plan, explain),
  };
  const received = structuredClone(reply);
  tableRows(received.plan, { key: 'rank', dir: 'asc' }, false);
  return true;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function run() {
  const example = fs.readFileSync(
    path.join(__dirname, '..', 'resources', 'examples', 'llama3-8b-128k.yaml'),
    'utf8',
  );
  const base = applyEdits(example, [{ path: ['cluster', 'nodes'], value: 8 }]);
  const texts = keystrokeTexts(base);
  // Warm-up: the page has planned this config many times before the engineer starts typing.
  for (let i = 0; i < 3; i++) for (const t of texts) processEdit(t);
  const samples: number[] = [];
  let layouts = 0;
  for (let round = 0; round < 5; round++) {
    for (const t of texts) {
      const t0 = performance.now();
      const updated = processEdit(t);
      const ms = performance.now() - t0;
      if (updated) samples.push(ms);
    }
  }
  const r = parseConfigText(texts[texts.length - 1]);
  if (r.ok) layouts = planConfig(r.config).layouts.length;
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    gpus: 64,
    edits: samples.length,
    layouts,
    p50_ms: quantile(sorted, 0.5),
    p95_ms: quantile(sorted, 0.95),
    max_ms: sorted[sorted.length - 1],
    budget_ms: BUDGET_MS,
  };
}

if (require.main === module) {
  const r = run();
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify(r) + '\n');
  } else {
    process.stdout.write(
      `plan update (parse + plan + hints + clone + rows), ${r.gpus} GPUs, ${r.layouts} layouts, ${r.edits} edits: ` +
        `p50 ${r.p50_ms.toFixed(2)} ms, p95 ${r.p95_ms.toFixed(2)} ms, max ${r.max_ms.toFixed(2)} ms (budget for the whole edit → table path: ${r.budget_ms} ms)\n`,
    );
  }
}
