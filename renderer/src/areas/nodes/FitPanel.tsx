// Which clusters can run a config: the one open in Plan (its planner verdict as Plan shows it),
// or one of the shipped examples planned here. For each cluster: fits or not, and why, with the
// node names a run config's launch.hosts would list.
import { useEffect, useId, useMemo, useState } from 'react';
import { parseConfigText, type RunConfig } from '../../../../app/config';
import { gpuCatalog, planConfig, type PlanResult } from '../../../../app/planner';
import type { NodeEntry } from '../../../../app/protocol/nodes';
import { host } from '../../host';
import { usePlan } from '../plan/store';
import { fitClusters, needOf, type ClusterFit, type Need } from './fit';
import { formatBytes } from './model';

type Source = { kind: 'plan' } | { kind: 'example'; name: string };
interface Example {
  name: string;
  title: string;
  text: string;
}
type Planned = { config: RunConfig | null; plan: PlanResult | null; error: string | null };

export function FitPanel({ nodes }: { nodes: NodeEntry[] }) {
  const selectId = useId();
  const planOpened = usePlan((s) => s.opened);
  const planFile = usePlan((s) => s.file);
  const planConfigNow = usePlan((s) => s.planConfig);
  const planNow = usePlan((s) => s.plan);
  const planIssues = usePlan((s) => s.issues.length);
  const [examples, setExamples] = useState<Example[]>([]);
  const [source, setSource] = useState<Source | null>(null);

  useEffect(() => {
    host.request('files.examples', {}).then(setExamples, () => setExamples([]));
  }, []);

  // Follow Plan when it has a document; otherwise the first example.
  const effective: Source | null = useMemo(
    () =>
      source ??
      (planOpened
        ? { kind: 'plan' }
        : examples[0]
          ? { kind: 'example', name: examples[0].name }
          : null),
    [source, planOpened, examples],
  );

  const planned: Planned | null = useMemo(() => {
    if (!effective) return null;
    if (effective.kind === 'plan') {
      if (!planConfigNow)
        return {
          config: null,
          plan: null,
          error: planIssues
            ? 'The config in Plan has errors; fix them to see which clusters fit.'
            : 'Plan has no valid config yet.',
        };
      return { config: planConfigNow, plan: planNow, error: null };
    }
    const ex = examples.find((e) => e.name === effective.name);
    if (!ex) return null;
    const parsed = parseConfigText(ex.text);
    if (!parsed.ok)
      return {
        config: null,
        plan: null,
        error: `${ex.title}: ${parsed.issues[0]?.message ?? 'invalid'}`,
      };
    try {
      // One search per pick (the planner's budget is tens of milliseconds even for large clusters).
      return { config: parsed.config, plan: planConfig(parsed.config), error: null };
    } catch (e) {
      return { config: parsed.config, plan: null, error: (e as Error).message };
    }
  }, [effective, planConfigNow, planNow, planIssues, examples]);

  const need: Need | null = planned?.config
    ? needOf(planned.config, planned.plan, gpuCatalog)
    : null;
  const fits: ClusterFit[] = need ? fitClusters(nodes, need, gpuCatalog) : [];
  const value = effective ? (effective.kind === 'plan' ? 'plan' : `example:${effective.name}`) : '';

  return (
    <section className="fit" aria-labelledby={`${selectId}-title`} data-testid="fit-panel">
      <div className="fit-head">
        <h2 id={`${selectId}-title`}>Which clusters can run</h2>
        <label htmlFor={selectId} className="sr-only">
          Config
        </label>
        <select
          id={selectId}
          value={value}
          onChange={(e) => {
            const v = e.target.value;
            setSource(
              v === 'plan'
                ? { kind: 'plan' }
                : { kind: 'example', name: v.slice('example:'.length) },
            );
          }}
        >
          {planOpened ? (
            <option value="plan">{`Plan: ${planFile?.name ?? 'untitled'}`}</option>
          ) : null}
          {examples.length ? (
            <optgroup label="Examples">
              {examples.map((e) => (
                // The file's stem is short enough for a toolbar; its first comment line is the tooltip.
                <option key={e.name} value={`example:${e.name}`} title={e.title}>
                  {e.name.replace(/\.ya?ml$/, '')}
                </option>
              ))}
            </optgroup>
          ) : null}
        </select>
        {need ? (
          <span className="fit-need" data-testid="fit-need">
            {describeNeed(need)}
          </span>
        ) : null}
      </div>
      {planned?.error ? <p className="fit-error">{planned.error}</p> : null}
      {need && fits.length === 0 ? (
        <p className="muted">
          No clusters yet: give nodes a cluster name (Edit, or when importing) to see whether they
          can run it together.
        </p>
      ) : null}
      {fits.length ? (
        <ul className="fit-list">
          {fits.map((f) => (
            <FitItem key={f.cluster} fit={f} need={need!} />
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function describeNeed(n: Need): string {
  const nodes = `${n.nodes} node${n.nodes === 1 ? '' : 's'}`;
  const per =
    n.gpu === 'cpu'
      ? `${n.gpusPerNode} CPU process${n.gpusPerNode === 1 ? '' : 'es'}`
      : `${n.gpusPerNode} × ${n.gpuLabel}`;
  const mem =
    n.peakBytes !== null
      ? ` · peak ${formatBytes(n.peakBytes)} per ${n.gpu === 'cpu' ? 'process' : 'GPU'} (planner)`
      : '';
  return `needs ${nodes} × ${per}${mem}`;
}

function FitItem({ fit, need }: { fit: ClusterFit; need: Need }) {
  const [copied, setCopied] = useState(false);
  const hosts = fit.eligible.slice(0, need.nodes);
  const yaml = `hosts: [${hosts.join(', ')}]`;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(yaml);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      setCopied(false);
    }
  };
  return (
    <li
      className={`fit-item${fit.fits ? ' fits' : ''}`}
      data-testid={`fit-${fit.cluster}`}
      data-fits={fit.fits}
    >
      <span className="fit-name">{fit.cluster}</span>
      <span className="fit-verdict">{fit.fits ? '✓ can run it' : '✗ cannot run it'}</span>
      {fit.fits ? (
        <div className="fit-hosts">
          launch.<code>{yaml}</code>{' '}
          <button
            type="button"
            className="link"
            onClick={copy}
            aria-label={`Copy launch hosts for ${fit.cluster}`}
          >
            {copied ? 'Copied' : 'Copy'}
          </button>
        </div>
      ) : null}
      {fit.reasons.length ? (
        <ul>
          {fit.reasons.slice(0, 4).map((r) => (
            <li key={r}>{r}</li>
          ))}
          {fit.reasons.length > 4 ? <li>and {fit.reasons.length - 4} more</li> : null}
        </ul>
      ) : null}
    </li>
  );
}
