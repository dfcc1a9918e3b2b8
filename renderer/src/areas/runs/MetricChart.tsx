// One metric of one or more runs over step, wall time or tokens. The lines are the downsampled
// series (min/max per pixel, so spikes survive); the hover card reads the exact values from the
// full-resolution series at the nearest point.
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
import { seriesView, type XAxis } from '../../../../app/series';
import type { Metric, RunTrace } from './trace';
import {
  AXIS_LABEL,
  fmtAxis,
  fmtClock,
  fmtCount,
  fmtTick,
  fmtValue,
  niceDomain,
  niceTicks,
  timeTicks,
} from './format';

export interface ChartSeries {
  key: string;
  label: string;
  color: string;
  trace: RunTrace;
  /** trace.version when these props were made: the trace itself is mutable. */
  version: number;
  metric: Metric;
  /** Sparse metrics (eval loss): points as dots, never smoothed or faded. */
  sparse?: boolean;
}

export interface Reference {
  value: number;
  label: string;
}

interface Props {
  title: string;
  series: ChartSeries[];
  axis: XAxis;
  smoothing: number;
  showRaw: boolean;
  format?: (v: number) => string;
  reference?: Reference | null;
  /** Shown next to the title: what the prediction is, or why there is none. */
  note?: string;
  noteTitle?: string;
  testId?: string;
  height?: number;
  /** Shrink to a one-line note while the metric has no values (MFU on CPU runs). */
  compactWhenEmpty?: boolean;
}

type Row = Record<string, number>;

/** Whether the element is on screen (or near it); true until the observer first answers. */
function useVisible(ref: React.RefObject<HTMLElement | null>): boolean {
  const [visible, setVisible] = useState(true);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const io = new IntersectionObserver(([e]) => setVisible(e.isIntersecting), {
      rootMargin: '200px',
    });
    io.observe(el);
    return () => io.disconnect();
  }, [ref]);
  return visible;
}

function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [w, setW] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(([e]) => setW(Math.floor(e.contentRect.width)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, w];
}

/** Every series' downsampled points, merged into rows by x for recharts (gaps are undefined). */
function buildRows(
  series: ChartSeries[],
  axis: XAxis,
  buckets: number,
  smoothing: number,
  showRaw: boolean,
): Row[] {
  const byX = new Map<number, Row>();
  series.forEach((s, i) => {
    const v = seriesView(s.trace.table, s.metric, { axis, buckets });
    for (let k = 0; k < v.x.length; k++) {
      let row = byX.get(v.x[k]);
      if (!row) {
        row = { x: v.x[k] };
        byX.set(v.x[k], row);
      }
      if (showRaw || smoothing === 0 || s.sparse) row[`r${i}`] = v.raw[k];
      if (smoothing > 0 && !s.sparse) row[`s${i}`] = v.smooth[k];
    }
  });
  return [...byX.values()].sort((a, b) => a.x - b.x);
}

function MetricChartImpl({
  title,
  series,
  axis,
  smoothing,
  showRaw,
  format = fmtValue,
  reference,
  note,
  noteTitle,
  testId,
  height: fullHeight = 190,
  compactWhenEmpty,
}: Props) {
  const [box, width] = useWidth<HTMLDivElement>();
  const visible = useVisible(box);
  const liveVersions = series.map((s) => `${s.key}@${s.version}`).join('|');
  // Off screen, a chart keeps its last drawing: a live run then redraws only what can be seen.
  const shown = useRef(liveVersions);
  if (visible) shown.current = liveVersions;
  const versions = shown.current;
  const rows = useMemo(
    () =>
      width > 0
        ? buildRows(series, axis, Math.max(40, Math.floor((width - 60) / 2)), smoothing, showRaw)
        : [],
    // `versions` captures every change of the mutable traces.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [versions, axis, width, smoothing, showRaw],
  );
  const y = useMemo(() => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const r of rows)
      for (const k in r) {
        if (k === 'x') continue;
        const v = r[k];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    if (reference && Number.isFinite(reference.value)) {
      lo = Math.min(lo, reference.value);
      hi = Math.max(hi, reference.value);
    }
    return niceDomain(lo, hi);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rows, reference?.value]);
  const xTicks = rows.length
    ? (axis === 'time' ? timeTicks : niceTicks)(rows[0].x, rows[rows.length - 1].x)
    : undefined;
  const primary = series[0];
  const n = primary?.trace.table.length ?? 0;
  const lastIdx = n - 1;
  const last =
    primary && lastIdx >= 0 ? primary.trace.table.raw(primary.metric)[lastIdx] : Number.NaN;
  const lastSmooth =
    primary && lastIdx >= 0 ? primary.trace.table.smooth(primary.metric)[lastIdx] : Number.NaN;
  const hasData = rows.length > 0;
  // How long after the runtime stamped the newest step it reached the page, measured when React
  // has put it in the DOM (written straight to the element: a test or a curious user reads it,
  // and it must not cause another render).
  const figure = useRef<HTMLElement>(null);
  const lastT = primary?.trace.lastStepT ?? 0;
  useEffect(() => {
    if (figure.current && lastT > 0)
      figure.current.dataset.lagMs = String(Math.round(Date.now() - lastT * 1000));
  }, [lastT]);
  const height = compactWhenEmpty && !hasData && n > 0 ? 36 : fullHeight;
  // The same element object when nothing drawn changed: React then skips recharts entirely.
  const styleKey = series.map((x) => `${x.color}|${x.label}|${x.sparse ? 1 : 0}`).join(',');
  const plot = useMemo(
    () => (
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
          ticks={xTicks}
          tickFormatter={(x: number) => fmtAxis(axis, x)}
          tick={{ fontSize: 11, fill: 'var(--muted)' }}
          stroke="var(--border)"
          minTickGap={28}
          allowDecimals={axis !== 'step'}
        />
        <YAxis
          width={56}
          domain={y?.domain ?? ['auto', 'auto']}
          ticks={y?.ticks}
          tickFormatter={(v: number) => (format === fmtValue ? fmtTick(v) : format(v))}
          tick={{ fontSize: 11, fill: 'var(--muted)' }}
          stroke="var(--border)"
          allowDataOverflow={false}
        />
        {reference ? (
          <ReferenceLine
            y={reference.value}
            stroke="var(--predicted)"
            strokeDasharray="6 4"
            ifOverflow="extendDomain"
            label={{
              value: reference.label,
              position: 'insideTopRight',
              fontSize: 11,
              fill: 'var(--predicted)',
            }}
          />
        ) : null}
        {series.map((s, i) => {
          const faded = smoothing > 0 && !s.sparse;
          return showRaw || !faded ? (
            <Line
              key={`r${i}`}
              dataKey={`r${i}`}
              name={s.label}
              stroke={s.color}
              strokeOpacity={faded ? 0.28 : s.sparse ? 0.7 : 1}
              strokeWidth={faded ? 1 : s.sparse ? 1.2 : 1.6}
              strokeDasharray={s.sparse ? '2 3' : undefined}
              dot={
                s.sparse ? { r: 3, fill: 'var(--panel)', stroke: s.color, strokeWidth: 1.5 } : false
              }
              activeDot={faded ? false : { r: 3 }}
              connectNulls
              isAnimationActive={false}
            />
          ) : null;
        })}
        {smoothing > 0
          ? series.map((s, i) =>
              s.sparse ? null : (
                <Line
                  key={`s${i}`}
                  dataKey={`s${i}`}
                  name={`${s.label} (smoothed)`}
                  stroke={s.color}
                  strokeWidth={1.8}
                  dot={false}
                  activeDot={{ r: 3 }}
                  connectNulls
                  isAnimationActive={false}
                />
              ),
            )
          : null}
        <Tooltip
          isAnimationActive={false}
          cursor={{ stroke: 'var(--muted)', strokeDasharray: '3 3' }}
          content={({ active, label }) =>
            active && typeof label === 'number' ? (
              <HoverCard
                x={label}
                axis={axis}
                series={series}
                smoothing={smoothing}
                format={format}
                reference={reference}
              />
            ) : null
          }
        />
      </LineChart>
    ),
    // The series' styles are in styleKey; their data in rows.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [
      rows,
      y,
      width,
      height,
      axis,
      smoothing,
      showRaw,
      reference?.value,
      reference?.label,
      format,
      styleKey,
    ],
  );
  const summary = hasData
    ? `${title}: latest ${format(last)}${smoothing > 0 ? ` (smoothed ${format(lastSmooth)})` : ''} at step ${primary.trace.table.lastStep}${reference ? `; predicted ${format(reference.value)}` : ''}.`
    : `${title}: no data yet.`;

  return (
    <figure
      ref={figure}
      className="chart"
      data-testid={testId}
      data-points={n}
      data-first={n > 0 ? primary.trace.table.raw(primary.metric)[0] : ''}
      data-last={Number.isFinite(last) ? last : ''}
      data-last-step={n > 0 ? primary.trace.table.lastStep : ''}
      data-last-t={n > 0 ? primary.trace.lastStepT : ''}
      aria-label={summary}
    >
      <figcaption>
        <span className="chart-title">{title}</span>
        {hasData ? (
          <span className="chart-last">{format(smoothing > 0 ? lastSmooth : last)}</span>
        ) : null}
        {note ? (
          <span className="chart-note" title={noteTitle}>
            {note}
          </span>
        ) : null}
      </figcaption>
      <p className="sr-only">{summary}</p>
      <div ref={box} className="chart-plot" style={{ height }}>
        {!hasData ? (
          <div className="chart-empty">
            {primary && n > 0 ? 'Not reported by this run' : 'Waiting for the first step…'}
          </div>
        ) : width > 0 ? (
          plot
        ) : null}
      </div>
    </figure>
  );
}

/**
 * Everything a chart draws, as one string: the parent re-renders every second (live durations)
 * and builds fresh props each time, while recharts redraws are the costly part of a live page.
 * So a chart redraws only when this changes (new events, settings, prediction).
 */
function drawKey(p: Props): string {
  const s = p.series
    .map((x) => `${x.key}@${x.version}|${x.color}|${x.label}|${x.sparse ? 1 : 0}`)
    .join(',');
  return [
    p.title,
    p.axis,
    p.smoothing,
    p.showRaw,
    p.reference?.value,
    p.reference?.label,
    p.note,
    p.noteTitle,
    p.testId,
    p.height,
    p.compactWhenEmpty,
    s,
  ].join('§');
}

export const MetricChart = memo(
  MetricChartImpl,
  (a, b) => a.format === b.format && drawKey(a) === drawKey(b),
);

/** Exact values at the hovered position, read from the full-resolution series. */
function HoverCard({
  x,
  axis,
  series,
  smoothing,
  format,
  reference,
}: {
  x: number;
  axis: XAxis;
  series: ChartSeries[];
  smoothing: number;
  format: (v: number) => string;
  reference?: Reference | null;
}) {
  const first = series[0];
  const i0 = first ? first.trace.table.nearest(axis, x) : -1;
  const head = i0 >= 0 ? first.trace.table.at(i0) : null;
  return (
    <div className="hovercard" role="tooltip">
      <div className="hovercard-head">
        {head ? (
          <>
            step {head.step} · {fmtClock(head.time)} · {fmtCount(head.tokens)} tok
          </>
        ) : (
          `${AXIS_LABEL[axis]} ${fmtAxis(axis, x)}`
        )}
      </div>
      {series.map((s) => {
        let i = s.trace.table.nearest(axis, x);
        if (i >= 0 && s.sparse) i = nearestFinite(s.trace.table.raw(s.metric), i);
        if (i < 0) return null;
        const p = s.trace.table.at(i);
        const raw = p.raw[s.metric];
        const sm = p.smooth[s.metric];
        return (
          <div key={s.key} className="hovercard-row">
            <span className="swatch" style={{ background: s.color }} aria-hidden />
            <span className="hovercard-label">{s.label}</span>
            <span className="hovercard-value">{format(raw)}</span>
            {smoothing > 0 && !s.sparse && Number.isFinite(sm) ? (
              <span className="hovercard-smooth">smoothed {format(sm)}</span>
            ) : null}
            {head && p.step !== head.step ? (
              <span className="hovercard-smooth">@ step {p.step}</span>
            ) : null}
          </div>
        );
      })}
      {reference ? (
        <div className="hovercard-row">
          <span className="swatch predicted" aria-hidden />
          <span className="hovercard-label">{reference.label}</span>
          <span className="hovercard-value">{format(reference.value)}</span>
        </div>
      ) : null}
    </div>
  );
}

/** The closest index to i holding a value (eval loss exists only at eval steps); -1 if none. */
function nearestFinite(a: Float64Array, i: number): number {
  for (let d = 0; d < a.length; d++) {
    if (i - d >= 0 && !Number.isNaN(a[i - d])) return i - d;
    if (i + d < a.length && !Number.isNaN(a[i + d])) return i + d;
    if (i - d < 0 && i + d >= a.length) break;
  }
  return -1;
}
