// Edits to the run-config YAML that keep the user's text: comments, key order, quoting, flow
// maps and the spacing before trailing comments. A scalar that exists is replaced in place (a
// splice of its source range), so changing a preset and changing it back gives back the very same
// text. Only structural edits (adding or removing a key) go through the yaml Document API, which
// keeps comments but re-prints the document.
import {
  isMap,
  isScalar,
  parseDocument,
  Scalar,
  stringify,
  type Document,
  type Node as YamlNode,
} from 'yaml';

export type YamlPath = readonly string[];
export interface FieldEdit {
  path: YamlPath;
  /** `undefined` removes the key. */
  value: unknown;
}

/** What a failed edit says; the quick controls show it instead of silently doing nothing. */
export class YamlEditError extends Error {}

function parse(text: string): Document.Parsed {
  return parseDocument(text, { keepSourceTokens: false, uniqueKeys: true });
}

function nodeAt(doc: Document, path: YamlPath): YamlNode | null {
  let node: unknown = doc.contents;
  for (const key of path) {
    if (!isMap(node)) return null;
    const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
    if (!pair) return null;
    node = pair.value;
  }
  return (node as YamlNode | null) ?? null;
}

/** A scalar printed the way the original was written (plain, 'single' or "double" quoted). */
function formatScalar(value: unknown, like: Scalar): string {
  if (typeof value === 'string') {
    if (like.type === Scalar.QUOTE_DOUBLE) return JSON.stringify(value);
    if (like.type === Scalar.QUOTE_SINGLE) return `'${value.replace(/'/g, "''")}'`;
  }
  // yaml quotes a string when plain would change its meaning ("auto" stays plain, "1" is quoted).
  return stringify(value, { lineWidth: 0 }).trimEnd();
}

const isScalarValue = (v: unknown) =>
  v === null || ['string', 'number', 'boolean'].includes(typeof v);

/**
 * Apply edits; returns the new text. Throws YamlEditError when the text is not valid YAML (the
 * controls must not guess at a broken document) or a path runs through a non-mapping.
 */
export function applyEdits(text: string, edits: readonly FieldEdit[]): string {
  const doc = parse(text);
  if (doc.errors.length)
    throw new YamlEditError(`fix the YAML first: ${doc.errors[0].message.split('\n')[0]}`);
  if (doc.contents !== null && !isMap(doc.contents))
    throw new YamlEditError('the config must be a YAML mapping');

  const splices: { start: number; end: number; text: string }[] = [];
  const structural: FieldEdit[] = [];
  for (const edit of edits) {
    const node = nodeAt(doc, edit.path);
    if (edit.value !== undefined && isScalarValue(edit.value) && isScalar(node) && node.range) {
      if (node.value === edit.value) continue;
      splices.push({
        start: node.range[0],
        end: node.range[1],
        text: formatScalar(edit.value, node),
      });
    } else if (edit.value === undefined && node === null) {
      continue; // already absent
    } else {
      structural.push(edit);
    }
  }

  let out = text;
  for (const s of splices.sort((a, b) => b.start - a.start))
    out = out.slice(0, s.start) + s.text + out.slice(s.end);
  if (structural.length === 0) return out;

  const doc2 = splices.length ? parse(out) : doc;
  for (const edit of structural) {
    // A path through a scalar (e.g. `parallel: 4`) cannot hold a key: say so rather than clobber it.
    for (let i = 1; i < edit.path.length; i++) {
      const parent = nodeAt(doc2, edit.path.slice(0, i));
      if (parent !== null && !isMap(parent))
        throw new YamlEditError(`${edit.path.slice(0, i).join('.')} is not a mapping`);
    }
    if (edit.value === undefined) doc2.deleteIn(edit.path);
    else doc2.setIn(edit.path, doc2.createNode(edit.value));
  }
  return doc2.toString({ lineWidth: 0 });
}

/** The plain JS value at a path of a YAML text, or undefined (also when the YAML is broken). */
export function readValue(text: string, path: YamlPath): unknown {
  const doc = parse(text);
  if (doc.errors.length) return undefined;
  const node = nodeAt(doc, path);
  return node === null
    ? undefined
    : ((node as { toJSON?: () => unknown }).toJSON?.() ??
        (isScalar(node) ? node.value : undefined));
}

/** The smallest replacement turning `a` into `b`, so the editor keeps cursor, scroll and undo. */
export function minimalChange(
  a: string,
  b: string,
): { start: number; end: number; text: string } | null {
  if (a === b) return null;
  let start = 0;
  const max = Math.min(a.length, b.length);
  while (start < max && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a.charCodeAt(endA - 1) === b.charCodeAt(endB - 1)) {
    endA--;
    endB--;
  }
  return { start, end: endA, text: b.slice(start, endB) };
}
