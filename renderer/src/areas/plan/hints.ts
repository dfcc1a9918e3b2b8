// When no layout fits, the planner's reasons are put on the YAML fields that caused them, as
// warnings in the editor: the engineer sees "ulysses 3 does not divide 32 heads" on the very line
// that says `ulysses: 3`, not only in a table elsewhere.
import { isMap, isScalar, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { ConfigIssue, RunConfig } from '../../../../app/config';
import type { LayoutChoice, LayoutPlan, PlanResult } from '../../../../app/planner/types';

/** Which field a reason is about, by the words it uses; checked in order, first match wins. */
const FIELD_WORDS: { path: string[]; words: RegExp; fixedOnly?: boolean }[] = [
  { path: ['parallel', 'ulysses'], words: /\bulysses\b/i, fixedOnly: true },
  { path: ['parallel', 'ring'], words: /\bring\b/i, fixedOnly: true },
  { path: ['parallel', 'chunks'], words: /\bchunks?\b/i, fixedOnly: true },
  { path: ['parallel', 'zero'], words: /\bzero\b/i, fixedOnly: true },
  { path: ['parallel', 'offload'], words: /\boffload/i, fixedOnly: true },
  { path: ['parallel', 'checkpointing'], words: /\bcheckpoint/i, fixedOnly: true },
  { path: ['cluster', 'gpu'], words: /\b(unknown gpu|gpu type)\b/i },
  {
    path: ['training', 'seq_len'],
    words: /\b(memory|GiB|capacity|does not fit|OOM)\b|sequence length/i,
  },
];

function isFixed(config: RunConfig, path: string[]): boolean {
  let v: unknown = config;
  for (const k of path) v = (v as Record<string, unknown> | undefined)?.[k];
  if (v === 'auto') return false;
  if (v !== null && typeof v === 'object')
    return Object.values(v).some((x) => x !== 'auto' && x !== false);
  return v !== undefined;
}

export function locate(
  text: string,
  path: readonly string[],
): Pick<ConfigIssue, 'line' | 'column' | 'endLine' | 'endColumn'> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  let node: YamlNode | null = doc.contents as YamlNode | null;
  let keyNode: YamlNode | null = null;
  for (const k of path) {
    if (!isMap(node)) break;
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === k);
    if (!pair) break;
    keyNode = pair.key as YamlNode;
    node = (pair.value as YamlNode | null) ?? keyNode;
  }
  // Mark the whole `key: value` span: the warning is about the setting, not only its value.
  const start = keyNode?.range?.[0] ?? node?.range?.[0] ?? 0;
  const end = node?.range?.[1] ?? keyNode?.range?.[1] ?? start;
  const a = lc.linePos(start);
  const b = lc.linePos(Math.max(start, end));
  return { line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
}

/**
 * The layout the config pins down when the search has no candidate at all (say `ulysses: 3` on 16
 * GPUs with ring left "auto": no ring degree completes the cluster, so the planner lists nothing).
 * Evaluating it with the planner says why in the planner's own words. Open fields take neutral
 * values; dp is what the cluster has left, rounded down.
 */
export function pinnedChoice(config: RunConfig): LayoutChoice {
  const p = config.parallel;
  const world = config.cluster.nodes * config.cluster.gpus_per_node;
  const ulysses = p.ulysses === 'auto' ? 1 : p.ulysses;
  const ring = p.ring === 'auto' ? 1 : p.ring;
  const fixed = (v: boolean | 'auto') => v === true;
  return {
    ulysses,
    ring,
    dp: Math.max(1, Math.floor(world / (ulysses * ring))),
    zero: p.zero === 'auto' ? 3 : p.zero,
    checkpointing: p.checkpointing === 'auto' ? 'full' : p.checkpointing,
    offload: {
      optimizer: fixed(p.offload.optimizer),
      params: fixed(p.offload.params),
      activations: fixed(p.offload.activations),
    },
    chunks: p.chunks === 'auto' ? 1 : p.chunks,
  };
}

/** Reasons shared by the most layouts first; at most `limit`. */
export function commonReasons(layouts: LayoutPlan[], limit: number): string[] {
  const counts = new Map<string, number>();
  for (const l of layouts)
    for (const r of new Set(l.reasons)) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([r]) => r);
}

/** Editor warnings for a plan where nothing fits; `explain` is the pinned layout when the search listed none. */
export function planHints(
  config: RunConfig,
  text: string,
  plan: PlanResult,
  explain: LayoutPlan | null = null,
): ConfigIssue[] {
  if (plan.best !== null || plan.layouts.some((l) => l.feasible)) return [];
  const source = plan.layouts.length ? plan.layouts : explain ? [explain] : [];
  const reasons = source.length
    ? commonReasons(source, 3)
    : ['no layout of this cluster can run this config'];
  const byPath = new Map<string, { path: string[]; messages: string[] }>();
  for (const reason of reasons) {
    const field = FIELD_WORDS.find(
      (f) => f.words.test(reason) && (!f.fixedOnly || isFixed(config, f.path)),
    );
    const path = field?.path ?? ['parallel'];
    const key = path.join('.');
    const entry = byPath.get(key) ?? { path, messages: [] };
    entry.messages.push(reason);
    byPath.set(key, entry);
  }
  return [...byPath.values()].map(({ path, messages }) => ({
    path: path.join('.'),
    message: `No layout fits: ${messages.join('; ')}`,
    ...locate(text, path),
  }));
}
