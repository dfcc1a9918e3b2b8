// Memory per rank, measured against the planner's prediction: a chart of each rank's total over
// the run, and the term-by-term table (the runtime reports the planner's own term names).
import { memo, useEffect, useMemo, useRef, useState } from 'react';
import {
  CartesianGrid,
  Line,
  LineChart,
  ReferenceLine,
  Tooltip,
  XAxis as RXAxis,
  YAxis,
} from 'recharts';
import type { XAxis } from '../../../../app/series';
import { PlanCompare } from '../../components/compare/PlanCompare';
import type { RunTrace } from './trace';
import type { PredictionState } from './prediction';
import { fmtAxis, fmtBytes, niceTicks, timeTicks } from './format';
import { rankColor } from './colors';

interface PanelProps {
  trace: RunTrace;
  /** trace.version when these props were made: the trace itself is mutable. */
  version: number;
  axis: XAxis;
  prediction: PredictionState;
  height?: number;
}

function MemoryPanelImpl({ trace, version, axis, prediction, height = 190 }: PanelProps) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const ro = new ResizeObserver(([e]) => setWidth(Math.floor(e.contentRect.width)));
    if (box.current) ro.observe(box.current);
    return () => ro.disconnect();
  }, []);

  const ranks = [...trace.memory.values()].sort((a, b) => a.rank - b.rank);
  const rows = useMemo(() => {
    const byX = new Map<number, Record<string, number>>();
    for (const m of ranks) {
      for (let k = 0; k < m.steps.length; k++) {
        const x = trace.xOfStep(axis, m.steps[k]);
        if (!Number.isFinite(x)) continue;
        let row = byX.get(x);
        if (!row) byX.set(x, (row = { x }));
        row[`m${m.rank}`] = m.bytes[k];
      }
    }
    return [...byX.values()].sort((a, b) => a.x - b.x);
    // The trace is mutable; its version marks every change.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [trace, version, axis]);

  const predicted = prediction.state === 'ready' ? prediction.prediction : null;
  const peak = ranks.reduce((a, m) => Math.max(a, ...m.bytes), 0);
  // The lines are allocated bytes at each step's peak; the planner's counterpart is its allocated
  // peak. The fixed costs (framework, NCCL) and allocator slack that make up the rest of what must
  // fit per GPU are not in any allocator's count, so they are named, not drawn.
  const overhead = predicted ? predicted.peakBytes - predicted.allocatedBytes : 0;
  const unit = predicted?.perRank ?? 'GPU';
  const summary = ranks.length
    ? `Memory per rank: allocated peak measured ${fmtBytes(peak)} over ${ranks.length} ranks${predicted ? `; predicted ${fmtBytes(predicted.allocatedBytes)}, ${fmtBytes(predicted.peakBytes)} with fixed costs` : ''}.`
    : 'Memory per rank: no measurements yet.';

  return (
    <figure className="chart chart-wide" data-testid="chart-memory" aria-label={summary}>
      <figcaption>
        <span className="chart-title">Memory per rank</span>
        {ranks.length ? <span className="chart-last">{fmtBytes(peak)}</span> : null}
        <span
          className="chart-note"
          data-testid="memory-predicted"
          title={
            predicted
              ? `Allocated bytes at the peak, as the planner predicts them. Per ${unit} it also counts ${fmtBytes(overhead)} of framework, NCCL and allocator slack, which no allocator reports: ${fmtBytes(predicted.peakBytes)} must fit.`
              : undefined
          }
        >
          {predicted
            ? `predicted ${fmtBytes(predicted.allocatedBytes)} allocated · ${fmtBytes(predicted.peakBytes)} per ${unit} with fixed costs`
            : null}
        </span>
      </figcaption>
      <p className="sr-only">{summary}</p>
      <div className="memory-grid">
        <div ref={box} className="chart-plot" style={{ height }}>
          {rows.length === 0 ? (
            <div className="chart-empty">Waiting for the first memory report…</div>
          ) : width > 0 ? (
            <LineChart
              width={width}
              height={height}
              data={rows}
              margin={{ top: 8, right: 14, bottom: 2, left: 0 }}
            >
              <CartesianGrid stroke="var(--grid)" strokeDasharray="2 4" vertical={false} />
              <RXAxis
                dataKey="x"
                type="number"
                domain={['dataMin', 'dataMax']}
                ticks={
                  rows.length
                    ? (axis === 'time' ? timeTicks : niceTicks)(rows[0].x, rows[rows.length - 1].x)
                    : undefined
                }
                tickFormatter={(x: number) => fmtAxis(axis, x)}
                tick={{ fontSize: 11, fill: 'var(--muted)' }}
                stroke="var(--border)"
                minTickGap={28}
              />
              <YAxis
                width={64}
                domain={[0, 'auto']}
                tickFormatter={(v: number) => fmtBytes(v)}
                tick={{ fontSize: 11, fill: 'var(--muted)' }}
                stroke="var(--border)"
              />
              {predicted ? (
                <ReferenceLine
                  y={predicted.allocatedBytes}
                  stroke="var(--predicted)"
                  strokeDasharray="6 4"
                  ifOverflow="extendDomain"
                  label={{
                    value: 'predicted allocated peak',
                    position: 'insideTopRight',
                    fontSize: 11,
                    fill: 'var(--predicted)',
                  }}
                />
              ) : null}
              {ranks.map((m) => (
                <Line
                  key={m.rank}
                  dataKey={`m${m.rank}`}
                  name={`rank ${m.rank}${m.node !== null ? ` (node ${m.node})` : ''}`}
                  stroke={rankColor(m.rank)}
                  strokeWidth={1.5}
                  // A run that reports memory once or twice still shows where.
                  dot={
                    m.steps.length <= 3 ? { r: 3, fill: rankColor(m.rank), strokeWidth: 0 } : false
                  }
                  connectNulls
                  isAnimationActive={false}
                />
              ))}
              <Tooltip
                isAnimationActive={false}
                formatter={(v) => fmtBytes(Number(v))}
                labelFormatter={(x) => fmtAxis(axis, Number(x))}
                contentStyle={{
                  background: 'var(--panel)',
                  border: '1px solid var(--border)',
                  borderRadius: 6,
                  fontSize: 12,
                }}
              />
            </LineChart>
          ) : null}
        </div>
        {predicted && ranks.length ? (
          <PlanCompare
            plan={predicted.plan}
            events={ranks.map((m) => m.last)}
            caption="Memory by term: measured against predicted"
          />
        ) : (
          <p className="muted" data-testid="memory-compare-empty">
            {prediction.state === 'none'
              ? `No prediction: ${prediction.why}`
              : ranks.length
                ? 'Planning…'
                : 'No measurements yet'}
          </p>
        )}
      </div>
    </figure>
  );
}

const samePrediction = (a: PredictionState, b: PredictionState) =>
  a.state === b.state &&
  (a.state !== 'ready' || a.prediction === (b as typeof a).prediction) &&
  (a.state !== 'none' || a.why === (b as typeof a).why);

/** Redrawn on new events, axis or prediction only (not on the parent's once-a-second tick). */
export const MemoryPanel = memo(
  MemoryPanelImpl,
  (a: PanelProps, b: PanelProps) =>
    a.trace === b.trace &&
    a.version === b.version &&
    a.axis === b.axis &&
    a.height === b.height &&
    samePrediction(a.prediction, b.prediction),
);
