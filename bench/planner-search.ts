// Benchmark: the planner's full layout search for Llama-3-70B at 1M tokens on 128 nodes x 8 H100
// (1024 GPUs), every parallel field left "auto". Prints the median over repeated runs.
// Run: npx tsx bench/planner-search.ts [--runs N] [--json]
import { validateConfigObject, type RunConfig } from '../app/config';
import { planConfig } from '../app/planner';

export function benchConfig(): RunConfig {
  const r = validateConfigObject({
    version: 1,
    name: 'bench-70b-1m',
    model: { preset: 'llama-3-70b' },
    training: { seq_len: 1 << 20, micro_batch: 1, grad_accum: 1, precision: 'bf16' },
    parallel: {
      ulysses: 'auto',
      ring: 'auto',
      zero: 'auto',
      checkpointing: 'auto',
      chunks: 'auto',
      offload: { optimizer: 'auto', params: 'auto', activations: 'auto' },
    },
    cluster: { gpu: 'h100-80g', nodes: 128, gpus_per_node: 8 },
  });
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return r.config;
}

/** Milliseconds of each timed run (after warm-up runs that let the JIT settle). */
export function timeSearch(
  runs: number,
  warmup = 5,
): { samples: number[]; median: number; candidates: number; layouts: number } {
  const config = benchConfig();
  let candidates = 0;
  let layouts = 0;
  for (let i = 0; i < warmup; i++) planConfig(config);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const res = planConfig(config);
    samples.push(performance.now() - t0);
    candidates = res.candidates;
    layouts = res.layouts.length;
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { samples, median, candidates, layouts };
}

function main(argv: string[]) {
  const runsAt = argv.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 31;
  const r = timeSearch(runs);
  if (argv.includes('--json')) {
    process.stdout.write(
      JSON.stringify({ median_ms: r.median, runs, candidates: r.candidates, layouts: r.layouts }) +
        '\n',
    );
    return;
  }
  const sorted = [...r.samples].sort((a, b) => a - b);
  process.stdout.write(
    `planner search, Llama-3-70B @ 1M tokens, 128x8 H100, all auto: ${r.candidates} candidates -> ${r.layouts} layouts\n` +
      `median ${r.median.toFixed(2)} ms over ${runs} runs (min ${sorted[0].toFixed(2)}, max ${sorted[sorted.length - 1].toFixed(2)}); budget 20 ms\n`,
  );
}

// Run when executed directly (tsx), not when a test imports timeSearch.
if (process.argv[1] && /planner-search\.ts$/.test(process.argv[1])) main(process.argv.slice(2));
