// Launch a run: a config (from the Plan area, a shipped example, or pasted), a target (this
// computer or nodes), a preview of the exact commands and environment per node, and the launch
// itself with its progress (connect, probe, upload, start) step by step.
import { useEffect, useMemo, useState } from 'react';
import { parseConfigText } from '../../../../app/config';
import { host } from '../../host';
import { isActive, targetKey, targetOf, useRuns, type Target } from './store';
import type { ProgressEvent } from '../../../../app/protocol/nodes';

interface Example {
  name: string;
  title: string;
  text: string;
}

export function LaunchPanel() {
  const {
    draft,
    target,
    nodes,
    preview,
    launch,
    runs,
    setDraft,
    setTarget,
    previewLaunch,
    launchDraft,
  } = useRuns();
  const [examples, setExamples] = useState<Example[]>([]);
  const [examplesError, setExamplesError] = useState<string | null>(null);

  useEffect(() => {
    host.request('files.examples', {}).then(setExamples, (e: Error) => setExamplesError(e.message));
  }, []);

  const parsed = useMemo(
    () => (draft.configYaml.trim() ? parseConfigText(draft.configYaml) : null),
    [draft.configYaml],
  );
  const config = parsed?.ok ? parsed.config : null;
  const wantNodes = config?.cluster.nodes ?? 1;
  const chosen = target === 'local' ? [] : target;
  const targetProblem =
    target !== 'local' && chosen.length === 0
      ? 'Choose at least one node.'
      : config && target !== 'local' && chosen.length !== wantNodes
        ? `The config asks for ${wantNodes} node${wantNodes > 1 ? 's' : ''}; ${chosen.length} chosen.`
        : config && target === 'local' && wantNodes > 1
          ? `The config asks for ${wantNodes} nodes; this computer is one.`
          : null;
  const canGo = !!config && !targetProblem && launch.state !== 'launching';
  const previewFresh = preview.forKey === targetKey(draft, target);

  // A config that names its hosts starts on them; anything else on this computer.
  const applyDraft = (configYaml: string, origin: string) => {
    setDraft({ configYaml, origin });
    setTarget(targetOf(configYaml));
  };

  const activeCount = runs.filter((r) => isActive(r.status)).length;

  return (
    <section className="launch" aria-labelledby="launch-title">
      <header className="launch-head">
        <h1 id="launch-title">New run</h1>
        {activeCount ? (
          <span className="muted">
            {activeCount} run{activeCount > 1 ? 's' : ''} already active
          </span>
        ) : null}
      </header>

      <div className="launch-grid">
        <fieldset className="card">
          <legend>Config</legend>
          <div className="row">
            <label htmlFor="example-select">Start from</label>
            <select
              id="example-select"
              aria-label="Example config"
              value=""
              onChange={(e) => {
                const ex = examples.find((x) => x.name === e.target.value);
                if (ex) applyDraft(ex.text, `example ${ex.name}`);
              }}
            >
              <option value="" disabled>
                {examples.length
                  ? 'an example…'
                  : examplesError
                    ? 'examples unavailable'
                    : 'loading examples…'}
              </option>
              {examples.map((x) => (
                <option key={x.name} value={x.name} title={x.title}>
                  {x.name.replace(/\.ya?ml$/, '')}
                </option>
              ))}
            </select>
            {draft.origin ? <span className="muted small">from {draft.origin}</span> : null}
          </div>
          <textarea
            className="config-editor"
            wrap="off"
            aria-label="Run config (YAML)"
            spellCheck={false}
            placeholder={
              'Paste a run config (YAML) here, pick an example above,\nor use Launch in the Plan area.'
            }
            value={draft.configYaml}
            onChange={(e) =>
              setDraft({ configYaml: e.target.value, origin: draft.origin || 'Pasted' })
            }
          />
          <div className="validation" aria-live="polite" data-testid="config-validation">
            {!parsed ? null : parsed.ok ? (
              <span className="ok">
                ✓ {parsed.config.name} · {parsed.config.cluster.nodes} node
                {parsed.config.cluster.nodes > 1 ? 's' : ''} × {parsed.config.cluster.gpus_per_node}{' '}
                {parsed.config.cluster.gpu === 'cpu' ? 'processes' : 'GPUs'}
                {parsed.config.training.steps ? ` · ${parsed.config.training.steps} steps` : ''}
              </span>
            ) : (
              <ul className="issues">
                {parsed.issues.slice(0, 6).map((i, k) => (
                  <li key={k}>
                    line {i.line}
                    {i.path ? ` · ${i.path}` : ''}: {i.message}
                  </li>
                ))}
              </ul>
            )}
          </div>
        </fieldset>

        <fieldset className="card">
          <legend>Target</legend>
          <div role="radiogroup" aria-label="Where to run" className="targets">
            <label className="radio">
              <input
                type="radio"
                name="target"
                checked={target === 'local'}
                onChange={() => setTarget('local')}
              />
              <span>
                <strong>This computer</strong>
                <span className="muted small"> — the studio's own machine</span>
              </span>
            </label>
            <label className="radio">
              <input
                type="radio"
                name="target"
                checked={target !== 'local'}
                onChange={() =>
                  setTarget(
                    config?.launch.hosts.length
                      ? config.launch.hosts
                      : nodes.slice(0, wantNodes).map((n) => n.name),
                  )
                }
                disabled={nodes.length === 0}
              />
              <span>
                <strong>Nodes</strong>
                <span className="muted small">
                  {' '}
                  {nodes.length ? '— over SSH' : '— none added yet (see the Nodes area)'}
                </span>
              </span>
            </label>
          </div>
          {target !== 'local' ? (
            <ul className="node-picks" aria-label="Nodes to run on">
              {nodes.map((n) => {
                const on = chosen.includes(n.name);
                return (
                  <li key={n.name}>
                    <label className="check">
                      <input
                        type="checkbox"
                        checked={on}
                        onChange={() =>
                          setTarget(on ? chosen.filter((c) => c !== n.name) : [...chosen, n.name])
                        }
                      />
                      <span>{n.name}</span>
                      <span className="muted small">
                        {n.user ? `${n.user}@` : ''}
                        {n.host}
                        {n.port !== 22 ? `:${n.port}` : ''}
                      </span>
                      {n.lastProbe ? (
                        <span className={`verdict v-${n.lastProbe.verdict}`}>
                          {n.lastProbe.verdict.replace('_', ' ')}
                        </span>
                      ) : null}
                    </label>
                  </li>
                );
              })}
            </ul>
          ) : null}
          {targetProblem ? <p className="warn small">{targetProblem}</p> : null}
          <div className="actions">
            <button
              className="ghost"
              disabled={!config || !!targetProblem || preview.state === 'loading'}
              onClick={() => void previewLaunch()}
            >
              {preview.state === 'loading' ? 'Preparing preview…' : 'Preview commands'}
            </button>
            <button className="primary" disabled={!canGo} onClick={launchDraft}>
              {launch.state === 'launching'
                ? 'Launching…'
                : `Launch on ${target === 'local' ? 'this computer' : chosen.join(', ') || 'nodes'}`}
            </button>
          </div>
        </fieldset>
      </div>

      {launch.state !== 'idle' || launch.steps.length ? (
        <LaunchProgress steps={launch.steps} state={launch.state} error={launch.error} />
      ) : null}

      {preview.state === 'error' && previewFresh ? (
        <div className="run-error" role="alert">
          <strong>The preview failed:</strong> {preview.error}
        </div>
      ) : null}
      {preview.state === 'ready' && preview.plan ? (
        <PlanPreview plan={preview.plan} stale={!previewFresh} target={target} />
      ) : null}
    </section>
  );
}

const ICON: Record<ProgressEvent['status'], string> = {
  running: '…',
  done: '✓',
  failed: '✗',
  skipped: '–',
};

function LaunchProgress({
  steps,
  state,
  error,
}: {
  steps: ProgressEvent[];
  state: string;
  error: string | null;
}) {
  return (
    <div
      className="card launch-progress"
      aria-live="polite"
      data-testid="launch-progress"
      data-state={state}
    >
      <h2>Launch</h2>
      <ol>
        {steps.map((s) => (
          <li key={`${s.step}:${s.node ?? ''}`} className={`p-${s.status}`}>
            <span className="p-icon" aria-label={s.status}>
              {s.status === 'running' ? <span className="spinner" aria-hidden /> : ICON[s.status]}
            </span>
            <span className="p-step">{s.step}</span>
            {s.node ? <span className="p-node">{s.node}</span> : null}
            <span className="p-detail">{s.detail}</span>
            {s.fraction !== undefined && s.status === 'running' ? (
              <progress max={1} value={s.fraction} aria-label={`${s.step} progress`}>
                {Math.round(s.fraction * 100)}%
              </progress>
            ) : null}
          </li>
        ))}
        {state === 'launching' && steps.length === 0 ? (
          <li className="muted">Contacting the host…</li>
        ) : null}
      </ol>
      {state === 'failed' && error ? (
        <p className="run-error" role="alert">
          <strong>Launch failed:</strong> {error}
        </p>
      ) : null}
    </div>
  );
}

function PlanPreview({
  plan,
  stale,
  target,
}: {
  plan: NonNullable<ReturnType<typeof useRuns.getState>['preview']['plan']>;
  stale: boolean;
  target: Target;
}) {
  const copy = (text: string) => void navigator.clipboard?.writeText(text).catch(() => {});
  return (
    <div className={`card preview ${stale ? 'stale' : ''}`} data-testid="launch-preview">
      <h2>
        Commands{' '}
        <span className="muted small">
          run {plan.runId} · rendezvous {plan.masterAddr}:{plan.masterPort} ·{' '}
          {target === 'local' ? 'this computer' : `${plan.nodes.length} node process groups`}
        </span>
      </h2>
      {stale ? (
        <p className="warn small">The config or the target changed since this preview.</p>
      ) : null}
      {plan.warnings.length ? (
        <ul className="warnings">
          {plan.warnings.map((w, i) => (
            <li key={i}>{w}</li>
          ))}
        </ul>
      ) : null}
      {plan.nodes.map((n) => {
        const env = Object.entries(n.env).sort(([a], [b]) => a.localeCompare(b));
        const envText = env.map(([k, v]) => `${k}=${v}`).join('\n');
        return (
          <div key={`${n.node}:${n.rank}`} className="node-cmd">
            <div className="node-cmd-head">
              <strong>{n.node}</strong>
              <span className="muted small">
                {n.host} · node rank {n.rank} · run dir <span className="mono">{n.runDir}</span>
              </span>
              <span className="grow" />
              <button className="ghost small" onClick={() => copy(n.command)}>
                Copy command
              </button>
            </div>
            <pre className="cmd" aria-label={`Command on ${n.node}`}>
              {n.command}
            </pre>
            <details>
              <summary>
                Environment ({env.length} variable{env.length === 1 ? '' : 's'})
              </summary>
              <pre className="env">{envText}</pre>
              <button className="ghost small" onClick={() => copy(envText)}>
                Copy environment
              </button>
            </details>
            {n.script ? (
              <details>
                <summary>Start script (what the host runs on the node)</summary>
                <pre className="env">{n.script}</pre>
                <button className="ghost small" onClick={() => copy(n.script!)}>
                  Copy script
                </button>
              </details>
            ) : null}
          </div>
        );
      })}
    </div>
  );
}
