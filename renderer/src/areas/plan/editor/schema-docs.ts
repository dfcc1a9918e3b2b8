// The run-config JSON Schema as the editor shows it: every field's hover names its path, says what
// it means (the zod `.describe()` text), what values it takes (with units) and its default. The
// schema itself stays the single source of truth; this only renders it as Markdown.

type JsonSchema = {
  type?: string | string[];
  description?: string;
  markdownDescription?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  minLength?: number;
  pattern?: string;
  [k: string]: unknown;
};

/** Units of fields whose description does not already say it; keyed by dotted path. */
const UNITS: Record<string, string> = {
  'training.seq_len': 'tokens',
  'training.micro_batch': 'sequences',
  'training.grad_accum': 'micro-steps',
  'training.steps': 'optimizer steps',
  'training.warmup_steps': 'optimizer steps',
  'training.checkpoint_every': 'optimizer steps',
  'training.log_every': 'optimizer steps',
  'cluster.nodes': 'machines',
  'cluster.gpus_per_node': 'GPUs',
  'parallel.ulysses': 'GPUs per Ulysses group',
  'parallel.ring': 'Ulysses groups per ring',
  'parallel.chunks': 'chunks per local sequence',
  'model.architecture.hidden': 'features',
  'model.architecture.ffn': 'features',
  'model.architecture.head_dim': 'features',
  'model.architecture.vocab': 'tokens',
};

const BIG = 2 ** 53 - 1;

function describeType(s: JsonSchema): string {
  if (s.const !== undefined) return `\`${String(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' | ');
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return [...new Set(alts.map(describeType))].join(' | ');
  const t = Array.isArray(s.type) ? s.type.join(' | ') : s.type;
  if (t === 'integer' || t === 'number') {
    const lo =
      s.exclusiveMinimum !== undefined
        ? `> ${s.exclusiveMinimum}`
        : s.minimum !== undefined
          ? `≥ ${s.minimum}`
          : '';
    const hi = s.maximum !== undefined && s.maximum < BIG ? `≤ ${s.maximum}` : '';
    const range = [lo, hi].filter(Boolean).join(', ');
    return range ? `${t} ${range}` : t;
  }
  if (t === 'string' && s.pattern) return `string matching \`${s.pattern}\``;
  if (t === 'array' && s.items) return `list of ${describeType(s.items)}`;
  if (t === 'object') return 'mapping';
  return t ?? 'any';
}

function formatDefault(v: unknown): string | null {
  if (v === undefined) return null;
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)
    return null; // `{}`: each field has its own
  return `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
}

function annotate(s: JsonSchema, path: string[], required: boolean): JsonSchema {
  const out: JsonSchema = { ...s };
  if (s.properties) {
    const req = new Set((s.required as string[] | undefined) ?? []);
    out.properties = Object.fromEntries(
      Object.entries(s.properties).map(([k, v]) => [k, annotate(v, [...path, k], req.has(k))]),
    );
  }
  // The alternatives of a union ("auto" | integer) stay bare: the editor shows the hover of every
  // alternative that matches, and one text per field is what a reader wants.
  if (path.length) {
    const dotted = path.join('.');
    const lines = [`**${dotted}**`];
    if (s.description) lines.push(s.description);
    const facts = [`Type: ${describeType(s)}`];
    if (UNITS[dotted]) facts.push(`Unit: ${UNITS[dotted]}`);
    const def = formatDefault(s.default);
    // A section defaulting to `{}` is filled field by field; say so rather than print `{}`.
    facts.push(
      def
        ? `Default: ${def}`
        : s.default !== undefined
          ? 'Defaults: per field'
          : required
            ? 'Required'
            : 'Optional',
    );
    lines.push(facts.join(' · '));
    if (s.anyOf?.some((a) => a.const === 'auto'))
      lines.push(
        '`auto` lets the planner choose the best value for the cluster and sequence length.',
      );
    out.markdownDescription = lines.join('\n\n');
  }
  return out;
}

export function editorSchema(schema: Record<string, unknown>): Record<string, unknown> {
  // Without a title: the editor would print it above every hover.
  const { title: _title, ...rest } = annotate(schema as JsonSchema, [], true);
  return rest;
}
