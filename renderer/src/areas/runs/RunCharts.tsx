// The live charts of a run (and the runs overlaid on it): loss, learning rate, gradient norm,
// throughput, MFU and memory, with the planner's prediction for the run's own config and layout.
import type { RunSummary } from '../../../../app/protocol/runs';
import { X_AXES } from '../../../../app/series';
import { MetricChart, type ChartSeries } from './MetricChart';
import { MemoryPanel } from './MemoryPanel';
import { usePrediction } from './prediction';
import { useRuns } from './store';
import { useTraces, type Metric, type RunTrace } from './trace';
import { AXIS_LABEL, fmtCount, fmtPercent, fmtValue, fmtWhen } from './format';
import { runColor } from './colors';

export function RunCharts({ run, others }: { run: RunSummary; others: RunSummary[] }) {
  const { axis, smoothing, showRaw, setAxis, setSmoothing, setShowRaw } = useRuns();
  const all = [run, ...others];
  const traces = useTraces(all.map((r) => r.id));
  const trace = traces.find((t) => t.id === run.id) ?? null;
  const prediction = usePrediction(
    run.configYaml,
    trace?.start ? { layout: trace.start.layout, torch: trace.start.versions.torch } : null,
  );
  const predicted = prediction.state === 'ready' ? prediction.prediction : null;
  const noteFor = (have: boolean) =>
    have
      ? undefined
      : prediction.state === 'none'
        ? 'no prediction'
        : prediction.state === 'loading'
          ? 'planning…'
          : undefined;
  const noteTitle = prediction.state === 'none' ? prediction.why : undefined;

  const series = (metric: Metric, label = '', sparse = false): ChartSeries[] =>
    all
      .map((r, i) => ({ r, i, t: traces.find((t) => t.id === r.id) }))
      .filter((x): x is { r: RunSummary; i: number; t: RunTrace } => !!x.t)
      .map(({ r, i, t }) => ({
        key: `${r.id}:${metric}`,
        label:
          `${all.length > 1 ? runLabel(r, all) : ''}${all.length > 1 && label ? ' · ' : ''}${label}` ||
          metric,
        color: runColor(i),
        trace: t,
        version: t.version,
        metric,
        sparse,
      }));

  const hasEval = traces.some((t) => t.table.raw('eval_loss').some((v) => !Number.isNaN(v)));
  const lossSeries = [
    ...series('loss', 'train'),
    ...(hasEval ? series('eval_loss', 'eval', true) : []),
  ];
  const common = { axis, smoothing, showRaw };

  return (
    <div className="run-charts">
      <div className="chart-controls" role="group" aria-label="Chart settings">
        <div className="segmented" role="radiogroup" aria-label="X axis">
          {X_AXES.map((a) => (
            <button
              key={a}
              role="radio"
              aria-checked={axis === a}
              className={axis === a ? 'on' : ''}
              onClick={() => setAxis(a)}
            >
              {AXIS_LABEL[a]}
            </button>
          ))}
        </div>
        <label className="slider">
          <span>Smoothing</span>
          <input
            type="range"
            min={0}
            max={0.99}
            step={0.01}
            value={smoothing}
            onChange={(e) => setSmoothing(Number(e.target.value))}
            aria-valuetext={smoothing === 0 ? 'off' : smoothing.toFixed(2)}
          />
          <output>{smoothing === 0 ? 'off' : smoothing.toFixed(2)}</output>
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={showRaw}
            onChange={(e) => setShowRaw(e.target.checked)}
            disabled={smoothing === 0}
          />{' '}
          Raw values
        </label>
        <span className="grow" />
        {others.length ? (
          <ul className="legend" aria-label="Runs on the charts">
            {all.map((r, i) => (
              <li key={r.id}>
                <span className="swatch" style={{ background: runColor(i) }} aria-hidden />{' '}
                {runLabel(r, all)}
              </li>
            ))}
          </ul>
        ) : null}
        {predicted ? (
          <span className="legend-predicted" title={predicted.layoutLabel}>
            <span className="swatch predicted" aria-hidden /> planner prediction
          </span>
        ) : prediction.state === 'none' ? (
          <span className="muted small" title={prediction.why}>
            No prediction: {prediction.why}
          </span>
        ) : null}
      </div>
      <div className="chart-grid">
        <MetricChart title="Loss" testId="chart-loss" series={lossSeries} {...common} />
        <MetricChart
          title="Learning rate"
          testId="chart-lr"
          series={series('lr')}
          {...common}
          format={fmtValue}
        />
        <MetricChart
          title="Gradient norm"
          testId="chart-grad-norm"
          series={series('grad_norm')}
          {...common}
        />
        <MetricChart
          title="Tokens / s"
          testId="chart-tokens-per-s"
          series={series('tokens_per_s')}
          {...common}
          format={fmtCount}
          reference={predicted ? { value: predicted.tokensPerS, label: 'predicted' } : null}
          note={noteFor(!!predicted)}
          noteTitle={noteTitle}
        />
        <MetricChart
          title="MFU"
          testId="chart-mfu"
          series={series('mfu')}
          {...common}
          format={fmtPercent}
          compactWhenEmpty
          reference={
            predicted && predicted.mfu > 0 ? { value: predicted.mfu, label: 'predicted' } : null
          }
          note={noteFor(!!predicted)}
          noteTitle={noteTitle}
        />
        {trace ? (
          <MemoryPanel trace={trace} version={trace.version} axis={axis} prediction={prediction} />
        ) : null}
      </div>
    </div>
  );
}

/** A run's name, with its start time when another shown run has the same name. */
function runLabel(r: RunSummary, all: RunSummary[]): string {
  return all.some((o) => o !== r && o.name === r.name)
    ? `${r.name} (${fmtWhen(r.startedAt)})`
    : r.name;
}
