// YAML text -> validated RunConfig, or errors that name the field and its line and column.
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { RunConfig } from './schema';
import { resolveArchitecture } from './presets';

export interface ConfigIssue {
  /** Dotted field path, e.g. "parallel.ulysses"; "" for the whole document. */
  path: string;
  message: string;
  /** 1-based position of the offending node (or its nearest existing parent). */
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export type ParseResult =
  | { ok: true; config: RunConfig; issues: [] }
  | { ok: false; config?: undefined; issues: ConfigIssue[] };

/** Parse and validate a run config. Never throws on bad input. */
export function parseConfigText(text: string): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number, end: number) => {
    const a = lineCounter.linePos(offset);
    const b = lineCounter.linePos(Math.max(offset, end));
    return { line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  };
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        path: '',
        message: `YAML: ${e.message.split('\n')[0]}`,
        ...at(e.pos[0], e.pos[1]),
      })),
    };
  }
  const value: unknown = doc.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      issues: [{ path: '', message: 'the config must be a YAML mapping', ...at(0, text.length) }],
    };
  }
  return validateConfigObject(value, (path, key) => {
    const node = nodeAt(doc.contents as YamlNode | null, path, key);
    const range = node?.range ?? [0, 0];
    return at(range[0], range[1]);
  });
}

type Locate = (
  path: (string | number)[],
  key?: boolean,
) => { line: number; column: number; endLine: number; endColumn: number };

/** Validate an already-parsed object (JSON input, quick controls). Positions are 1:1 without a locator. */
export function validateConfigObject(value: unknown, locate?: Locate): ParseResult {
  const parsed = RunConfig.safeParse(value);
  const where: Locate = locate ?? (() => ({ line: 1, column: 1, endLine: 1, endColumn: 1 }));
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error, where, value) };
  try {
    resolveArchitecture(parsed.data.model);
  } catch (e) {
    return {
      ok: false,
      issues: [
        { path: 'model.preset', message: (e as Error).message, ...where(['model', 'preset']) },
      ],
    };
  }
  return { ok: true, config: parsed.data, issues: [] };
}

/** The value at a path of the input, or undefined where the path does not exist. */
function valueAt(root: unknown, path: (string | number)[]): unknown {
  let v = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

function zodIssues(error: z.ZodError, where: Locate, input: unknown): ConfigIssue[] {
  return error.issues.map((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      message = `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
      // Point at the unknown key itself, not at its parent.
      const loc = where([...path, issue.keys[0]], true);
      return { path: [...path, issue.keys[0]].join('.'), message, ...loc };
    }
    if (issue.code === 'invalid_union') message = describeUnion(issue) ?? message;
    // zod does not carry the input in its issues: look it up to tell "missing" from "wrong type".
    if (issue.code === 'invalid_type') {
      const got = valueAt(input, path);
      message =
        got === undefined ? 'required' : `expected ${issue.expected}, got ${JSON.stringify(got)}`;
    }
    return { path: path.join('.'), message, ...where(path) };
  });
}

function describeUnion(issue: z.core.$ZodIssueInvalidUnion): string | undefined {
  // "auto" or a number: report what was expected in words rather than zod's nested list.
  const leaves = issue.errors.flat().map((i) => i.message);
  return leaves.length ? `expected one of: ${[...new Set(leaves)].join('; ')}` : undefined;
}

/** The YAML node at a path, or the deepest ancestor that exists (a missing field points at its parent). */
function nodeAt(
  root: YamlNode | null,
  path: (string | number)[],
  wantKey = false,
): YamlNode | null {
  let node: YamlNode | null = root;
  for (const [i, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) return node;
      const last = i === path.length - 1;
      node =
        last && wantKey
          ? (pair.key as YamlNode)
          : ((pair.value as YamlNode | null) ?? (pair.key as YamlNode));
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key] as YamlNode | undefined;
      if (!item) return node;
      node = item;
    } else {
      return node;
    }
  }
  return node;
}
