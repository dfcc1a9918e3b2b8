// Pure helpers behind the Nodes area: form validation, grouping into clusters, probe facts in
// words, and the reachability matrix. No React and no host calls, so they are unit-tested.
import {
  NodeSpec,
  type NodeEntry,
  type ProbeResult,
  type Verdict,
} from '../../../../app/protocol/nodes';

// ---------------------------------------------------------------------------------------------
// The add / edit form

export const FORM_FIELDS = [
  'name',
  'host',
  'port',
  'user',
  'identityFile',
  'proxyJump',
  'cluster',
  'python',
  'workdir',
] as const;
export type FormField = (typeof FORM_FIELDS)[number];
export type NodeForm = Record<FormField, string>;

export const FIELD_LABELS: Record<FormField, string> = {
  name: 'Name',
  host: 'Host',
  port: 'Port',
  user: 'User',
  identityFile: 'Key file',
  proxyJump: 'ProxyJump',
  cluster: 'Cluster',
  python: 'Python',
  workdir: 'Work directory',
};

export const emptyForm = (): NodeForm => ({
  name: '',
  host: '',
  port: '22',
  user: '',
  identityFile: '',
  proxyJump: '',
  cluster: '',
  python: '',
  workdir: '',
});

export function formFromSpec(n: NodeSpec): NodeForm {
  return {
    name: n.name,
    host: n.host,
    port: String(n.port ?? 22),
    user: n.user ?? '',
    identityFile: n.identityFile ?? '',
    proxyJump: n.proxyJump ?? '',
    cluster: n.cluster ?? '',
    python: n.python ?? '',
    workdir: n.workdir ?? '',
  };
}

/** A node name derived from what was typed as host: "gpu-01.lab.example" → "gpu-01". */
export function suggestName(host: string): string {
  const h = host.trim().replace(/^.*@/, '');
  if (!h) return '';
  // An IP address keeps all its parts; a DNS name its first label.
  const base = /^[\d.]+$/.test(h) || h.includes(':') ? h : h.split('.')[0];
  return base
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
}

export type FormErrors = Partial<Record<FormField, string>>;

/**
 * Checks the form against the same NodeSpec schema the host uses, and words every problem with
 * the field's label so the message makes sense on its own (screen readers read it detached).
 */
export function validateForm(
  form: NodeForm,
): { spec: NodeSpec; errors: null } | { spec: null; errors: FormErrors } {
  const errors: FormErrors = {};
  const t = (f: FormField) => form[f].trim();
  const portText = t('port') || '22';
  const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    errors.port = 'Port must be a whole number from 1 to 65535.';
  if (/\s/.test(t('host'))) errors.host = 'Host must not contain spaces.';
  if (/\s/.test(t('user'))) errors.user = 'User must not contain spaces.';
  if (t('cluster') && !/^[A-Za-z0-9._-]+$/.test(t('cluster')))
    errors.cluster = 'Cluster may use letters, digits, ".", "_" and "-" only.';
  const candidate = {
    name: t('name'),
    host: t('host'),
    port: Number.isNaN(port) ? 22 : port,
    ...(t('user') ? { user: t('user') } : {}),
    ...(t('identityFile') ? { identityFile: t('identityFile') } : {}),
    ...(t('proxyJump') ? { proxyJump: t('proxyJump') } : {}),
    ...(t('cluster') ? { cluster: t('cluster') } : {}),
    ...(t('python') ? { python: t('python') } : {}),
    ...(t('workdir') ? { workdir: t('workdir') } : {}),
  };
  const parsed = NodeSpec.safeParse(candidate);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const f = issue.path[0] as FormField;
      if (!FORM_FIELDS.includes(f) || errors[f]) continue;
      errors[f] = describeIssue(f, issue.code, issue.message, candidate);
    }
  }
  if (Object.keys(errors).length > 0 || !parsed.success) return { spec: null, errors };
  return { spec: parsed.data, errors: null };
}

function describeIssue(
  f: FormField,
  code: string,
  message: string,
  c: { name: string; host: string },
): string {
  const label = FIELD_LABELS[f];
  if (code === 'too_small' && f === 'name' && !c.name) return 'Name is required.';
  if (code === 'too_small' && f === 'host' && !c.host) return 'Host is required.';
  if (code === 'too_big') return `${label} is too long.`;
  if (code === 'invalid_format') return `${label} may use ${message}.`;
  return `${label}: ${message}.`;
}

/** A host error's field ("node.port", "name", "aliases") as one of the form's fields. */
export function formFieldOf(field: string | undefined): FormField | null {
  if (!field) return null;
  const last = field.replace(/^node\./, '').split('.')[0];
  return (FORM_FIELDS as readonly string[]).includes(last) ? (last as FormField) : null;
}

// ---------------------------------------------------------------------------------------------
// Clusters

export interface ClusterGroup {
  /** null: nodes in no cluster. */
  name: string | null;
  nodes: NodeEntry[];
}

/** Named clusters alphabetically, then the unclustered nodes; nodes by name inside each. */
export function groupByCluster(nodes: NodeEntry[]): ClusterGroup[] {
  const byName = new Map<string | null, NodeEntry[]>();
  for (const n of nodes) {
    const key = n.cluster?.trim() || null;
    byName.set(key, [...(byName.get(key) ?? []), n]);
  }
  const sortNodes = (ns: NodeEntry[]) =>
    [...ns].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  const named = [...byName.keys()]
    .filter((k): k is string => k !== null)
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const groups: ClusterGroup[] = named.map((name) => ({
    name,
    nodes: sortNodes(byName.get(name)!),
  }));
  if (byName.has(null)) groups.push({ name: null, nodes: sortNodes(byName.get(null)!) });
  return groups;
}

export interface ClusterSummary {
  nodes: number;
  probed: number;
  gpus: number;
  /** Distinct GPU names across the probed nodes. */
  gpuNames: string[];
  verdict: Verdict;
}

export function summarizeCluster(nodes: NodeEntry[]): ClusterSummary {
  const probes = nodes.map((n) => n.lastProbe).filter((p): p is ProbeResult => p !== null);
  const gpus = probes.reduce((s, p) => s + p.gpus.length, 0);
  const gpuNames = [...new Set(probes.flatMap((p) => p.gpus.map((g) => g.name)))];
  return {
    nodes: nodes.length,
    probed: probes.length,
    gpus,
    gpuNames,
    verdict: worstVerdict(nodes.map((n) => n.lastProbe?.verdict ?? 'unknown')),
  };
}

const VERDICT_ORDER: Verdict[] = ['not_ready', 'unknown', 'warning', 'ready'];
/** The worst of several verdicts; an empty list is unknown. */
export function worstVerdict(vs: Verdict[]): Verdict {
  if (vs.length === 0) return 'unknown';
  return vs.reduce(
    (w, v) => (VERDICT_ORDER.indexOf(v) < VERDICT_ORDER.indexOf(w) ? v : w),
    'ready' as Verdict,
  );
}

export const VERDICT_TEXT: Record<Verdict, string> = {
  ready: 'Ready',
  warning: 'Warning',
  not_ready: 'Not ready',
  unknown: 'Not probed',
};

// ---------------------------------------------------------------------------------------------
// Probe facts in words

const GiB = 1024 ** 3;
export function formatBytes(b: number | null | undefined): string {
  if (b === null || b === undefined || !Number.isFinite(b)) return '—';
  if (b >= 1024 ** 4) return `${(b / 1024 ** 4).toFixed(1)} TiB`;
  if (b >= GiB) return `${(b / GiB).toFixed(b >= 100 * GiB ? 0 : 1)} GiB`;
  if (b >= 1024 ** 2) return `${Math.round(b / 1024 ** 2)} MiB`;
  return `${Math.round(b / 1024)} KiB`;
}

/** "8 × NVIDIA H100 80GB HBM3 · 80 GiB each"; mixed nodes list each kind. Null without GPUs. */
export function gpuSummary(gpus: ProbeResult['gpus']): string | null {
  if (gpus.length === 0) return null;
  const kinds = new Map<string, { count: number; mem: number }>();
  for (const g of gpus) {
    const k = kinds.get(g.name) ?? { count: 0, mem: g.memBytes };
    kinds.set(g.name, { count: k.count + 1, mem: Math.min(k.mem, g.memBytes) });
  }
  return [...kinds.entries()]
    .map(([name, k]) => `${k.count} × ${name} · ${formatBytes(k.mem)}`)
    .join(', ');
}

/** "driver 550.54 · CUDA 12.4" from the GPUs (driver) and the probe (CUDA runtime torch sees). */
export function driverCuda(p: ProbeResult): { driver: string | null; cuda: string | null } {
  const driver = p.gpus.find((g) => g.driver)?.driver ?? null;
  const cuda = p.cuda ?? p.gpus.find((g) => g.cuda)?.cuda ?? null;
  return { driver, cuda };
}

export function timeAgo(at: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} days ago`;
}

export function endpoint(n: Pick<NodeSpec, 'host' | 'port' | 'user'>): string {
  return `${n.user ? `${n.user}@` : ''}${n.host}${n.port && n.port !== 22 ? `:${n.port}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Reachability

export interface ReachCell {
  ok: boolean | null;
  /** "10.0.0.2:29500" tried, and why it failed. */
  title: string;
}

/**
 * From each node's last (cluster) probe, a from × to matrix of rendezvous-port reachability.
 * A node reaching itself is not tested (null); a pair never tested is null too.
 */
export function reachMatrix(nodes: NodeEntry[]): {
  names: string[];
  cells: ReachCell[][];
  tested: boolean;
  failures: number;
} {
  const names = nodes.map((n) => n.name);
  let tested = false;
  let failures = 0;
  const cells = nodes.map((from) =>
    names.map((to): ReachCell => {
      if (to === from.name) return { ok: null, title: 'same node' };
      const r = from.lastProbe?.reach.find((x) => x.to === to);
      if (!r) return { ok: null, title: `${from.name} → ${to}: not tested` };
      tested = true;
      if (!r.ok) failures++;
      const at = `${r.address}:${r.port}`;
      return {
        ok: r.ok,
        title: r.ok
          ? `${from.name} → ${to} reaches ${at}`
          : `${from.name} → ${to} cannot reach ${at}${r.error ? `: ${r.error}` : ''}`,
      };
    }),
  );
  return { names, cells, tested, failures };
}
