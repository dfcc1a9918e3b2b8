// The Plan area's charts. They render from a deferred copy of the plan: React first commits the
// table for an edit (the 16 ms budget), then redraws the charts in a follow-up render that
// typing can interrupt.
import { memo, useMemo } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  ComposedChart,
  Line,
  ReferenceDot,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { LayoutPlan } from '../../../../app/planner/types';
import {
  formatBytes,
  formatCount,
  formatSeconds,
  formatSeqLen,
  formatSeqLenApprox,
  formatTokensPerSecond,
  toGiB,
} from './format';
import type { Row } from './LayoutTable';
import type { SweepPoint } from './worker-protocol';

export interface Palette {
  grid: string;
  axis: string;
  text: string;
  capacity: string;
  selected: string;
  memory: Record<MemoryGroup, string>;
  compute: string;
  exposed: string;
  overlapped: string;
  tokens: string;
  peak: string;
}

export const MEMORY_GROUPS = [
  'weights',
  'grads',
  'optimizer',
  'activations',
  'logits',
  'workspace',
  'fixed',
] as const;
export type MemoryGroup = (typeof MEMORY_GROUPS)[number];
export const MEMORY_GROUP_LABEL: Record<MemoryGroup, string> = {
  weights: 'Weights',
  grads: 'Grads',
  optimizer: 'Optimizer',
  activations: 'Activations',
  logits: 'Logits',
  workspace: 'Workspace + comm',
  fixed: 'Fixed (CUDA, NCCL, allocator)',
};

/** The planner's ten terms in the seven bands the chart stacks. */
export function memoryGroups(l: LayoutPlan): Record<MemoryGroup, number> {
  const b = l.memory.breakdown;
  return {
    weights: b.weights,
    grads: b.grads,
    optimizer: b.optimizer,
    activations: b.activations,
    logits: b.logits,
    workspace: b.workspace + b.comm_buffers,
    fixed: b.framework + b.nccl + b.fragmentation,
  };
}

export function palette(theme: 'light' | 'dark'): Palette {
  const dark = theme === 'dark';
  return {
    grid: dark ? '#2c313b' : '#e6e8ec',
    axis: dark ? '#9aa0aa' : '#60646c',
    text: dark ? '#e6e8ec' : '#1b1d21',
    capacity: dark ? '#ff6b6b' : '#c92a2a',
    selected: dark ? '#748ffc' : '#3b5bdb',
    memory: dark
      ? {
          weights: '#748ffc',
          grads: '#4dabf7',
          optimizer: '#9775fa',
          activations: '#ffa94d',
          logits: '#f783ac',
          workspace: '#63e6be',
          fixed: '#868e96',
        }
      : {
          weights: '#3b5bdb',
          grads: '#1c7ed6',
          optimizer: '#7048e8',
          activations: '#e8590c',
          logits: '#d6336c',
          workspace: '#0ca678',
          fixed: '#868e96',
        },
    compute: dark ? '#748ffc' : '#3b5bdb',
    exposed: dark ? '#ff8787' : '#e03131',
    overlapped: dark ? '#69db7c' : '#2f9e44',
    tokens: dark ? '#69db7c' : '#2b8a3e',
    peak: dark ? '#ffa94d' : '#e8590c',
  };
}

/**
 * A legend in HTML, drawn once: recharts' own legend measures itself on every render, and the
 * charts render whenever typing pauses.
 */
function ChartLegend({ items }: { items: { label: string; color: string; line?: boolean }[] }) {
  return (
    <ul className="chart-legend" aria-hidden>
      {items.map((i) => (
        <li key={i.label}>
          <span className={i.line ? 'swatch line' : 'swatch'} style={{ background: i.color }} />
          {i.label}
        </li>
      ))}
    </ul>
  );
}

export const layoutLabel = (l: LayoutPlan) => `${l.ulysses}×${l.ring}×${l.dp}`;

/** X-axis label of a layout; the selected one in the accent colour and bold, so the charts point at the table's row. */
function LayoutTick(props: {
  x?: number;
  y?: number;
  payload?: { value: string };
  selectedName: string | null;
  rotate: boolean;
  palette: Palette;
}) {
  const { x = 0, y = 0, payload, selectedName, rotate, palette: p } = props;
  const selected = payload?.value === selectedName;
  return (
    <text
      x={x}
      y={y + (rotate ? 4 : 12)}
      textAnchor={rotate ? 'end' : 'middle'}
      transform={rotate ? `rotate(-30, ${x}, ${y + 4})` : undefined}
      fontSize={11}
      fontWeight={selected ? 700 : 400}
      fill={selected ? p.selected : p.axis}
    >
      {selected ? `▸ ${payload?.value}` : payload?.value}
    </text>
  );
}

const tooltipStyle = (p: Palette) => ({
  contentStyle: {
    background: 'var(--panel)',
    border: '1px solid var(--border)',
    borderRadius: 6,
    fontSize: 12,
    color: p.text,
  },
  labelStyle: { color: p.text, fontWeight: 600 },
  itemStyle: { padding: 0 },
});

interface LayoutsChartProps {
  rows: Row[];
  selectedKey: string | null;
  capacityBytes: number;
  palette: Palette;
  onSelect(key: string): void;
}

/** Peak memory per layout, stacked by term, with the GPU's usable capacity as a line. */
export const MemoryChart = memo(function MemoryChart({
  rows,
  selectedKey,
  capacityBytes,
  palette: p,
  onSelect,
}: LayoutsChartProps) {
  const data = useMemo(
    () =>
      rows.map((r) => {
        const g = memoryGroups(r.layout);
        return {
          key: r.key,
          name: layoutLabel(r.layout),
          ...Object.fromEntries(MEMORY_GROUPS.map((k) => [k, toGiB(g[k])])),
          peak: toGiB(r.layout.memory.peak_bytes),
        };
      }),
    [rows],
  );
  const capacity = toGiB(capacityBytes);
  const max = Math.max(capacity * 1.1, ...data.map((d) => d.peak));
  return (
    <figure
      className="chart"
      data-testid="memory-chart"
      aria-label="Peak memory per layout, stacked by term, with the GPU capacity line"
    >
      <figcaption>Memory per GPU</figcaption>
      <ResponsiveContainer width="100%" height={240}>
        <BarChart
          data={data}
          margin={{ top: 16, right: 16, bottom: 4, left: 0 }}
          barCategoryGap="18%"
        >
          <CartesianGrid stroke={p.grid} vertical={false} />
          <XAxis
            dataKey="name"
            stroke={p.grid}
            interval={0}
            height={data.length > 8 ? 48 : 24}
            tick={
              <LayoutTick
                selectedName={data.find((d) => d.key === selectedKey)?.name ?? null}
                rotate={data.length > 8}
                palette={p}
              />
            }
          />
          <YAxis
            tick={{ fill: p.axis, fontSize: 11 }}
            stroke={p.grid}
            domain={[0, Math.ceil(max / 10) * 10]}
            unit=" GiB"
            width={66}
          />
          <Tooltip
            {...tooltipStyle(p)}
            cursor={{ fill: p.grid, opacity: 0.5 }}
            formatter={(v, name) => [
              formatBytes(Number(v) * 1024 ** 3),
              MEMORY_GROUP_LABEL[name as MemoryGroup] ?? String(name),
            ]}
          />
          {MEMORY_GROUPS.map((k) => (
            <Bar
              key={k}
              dataKey={k}
              stackId="m"
              fill={p.memory[k]}
              isAnimationActive={false}
              cursor="pointer"
              onClick={(d: { payload?: { key: string } }) => d.payload && onSelect(d.payload.key)}
              className={`mem-${k}`}
            />
          ))}
          <ReferenceLine
            y={capacity}
            stroke={p.capacity}
            strokeDasharray="6 3"
            strokeWidth={2}
            ifOverflow="extendDomain"
            label={{
              value: `capacity ${formatBytes(capacityBytes)}`,
              position: 'insideTopRight',
              fill: p.capacity,
              fontSize: 11,
            }}
            className="capacity-line"
          />
        </BarChart>
      </ResponsiveContainer>
      <ChartLegend
        items={[
          ...MEMORY_GROUPS.map((k) => ({ label: MEMORY_GROUP_LABEL[k], color: p.memory[k] })),
          { label: 'Capacity', color: p.capacity, line: true },
        ]}
      />
    </figure>
  );
});

/** Where a step's time goes per layout: compute, communication left exposed, and communication hidden under compute. */
export const CommChart = memo(function CommChart({
  rows,
  selectedKey,
  palette: p,
  onSelect,
}: LayoutsChartProps) {
  const data = useMemo(
    () =>
      rows.map((r) => ({
        key: r.key,
        name: layoutLabel(r.layout),
        compute: r.layout.compute.time_s * 1000,
        exposed: r.layout.comm.time_s * 1000,
        overlapped: r.layout.comm.overlapped_s * 1000,
      })),
    [rows],
  );
  const labels: Record<string, string> = {
    compute: 'Compute',
    exposed: 'Comm, exposed',
    overlapped: 'Comm, overlapped',
  };
  return (
    <figure
      className="chart"
      data-testid="comm-chart"
      aria-label="Compute and communication time per step, per layout"
    >
      <figcaption>Time per step: compute vs communication</figcaption>
      <ResponsiveContainer width="100%" height={240}>
        <BarChart
          data={data}
          margin={{ top: 16, right: 16, bottom: 4, left: 0 }}
          barCategoryGap="18%"
          barGap={2}
        >
          <CartesianGrid stroke={p.grid} vertical={false} />
          <XAxis
            dataKey="name"
            stroke={p.grid}
            interval={0}
            height={data.length > 8 ? 48 : 24}
            tick={
              <LayoutTick
                selectedName={data.find((d) => d.key === selectedKey)?.name ?? null}
                rotate={data.length > 8}
                palette={p}
              />
            }
          />
          <YAxis
            tick={{ fill: p.axis, fontSize: 11 }}
            stroke={p.grid}
            tickFormatter={(v: number) => (v === 0 ? '0' : formatSeconds(v / 1000))}
            width={66}
          />
          <Tooltip
            {...tooltipStyle(p)}
            cursor={{ fill: p.grid, opacity: 0.5 }}
            formatter={(v, name) => [
              formatSeconds(Number(v) / 1000),
              labels[String(name)] ?? String(name),
            ]}
          />
          <Bar
            dataKey="compute"
            stackId="t"
            fill={p.compute}
            isAnimationActive={false}
            cursor="pointer"
            onClick={(d: { payload?: { key: string } }) => d.payload && onSelect(d.payload.key)}
          />
          <Bar
            dataKey="exposed"
            stackId="t"
            fill={p.exposed}
            isAnimationActive={false}
            cursor="pointer"
            onClick={(d: { payload?: { key: string } }) => d.payload && onSelect(d.payload.key)}
          />
          <Bar
            dataKey="overlapped"
            stackId="o"
            fill={p.overlapped}
            fillOpacity={0.55}
            isAnimationActive={false}
          />
        </BarChart>
      </ResponsiveContainer>
      <ChartLegend
        items={[
          { label: labels.compute, color: p.compute },
          { label: labels.exposed, color: p.exposed },
          { label: labels.overlapped, color: p.overlapped },
        ]}
      />
    </figure>
  );
});

/** The selected layout across sequence lengths: peak memory against capacity, and throughput; the longest sequence it fits is marked. */
export const SweepChart = memo(function SweepChart({
  points,
  maxSeq,
  seqLen,
  capacityBytes,
  palette: p,
}: {
  points: SweepPoint[];
  maxSeq: number | null;
  seqLen: number;
  capacityBytes: number;
  palette: Palette;
}) {
  const data = useMemo(
    () =>
      points.map((pt) => ({
        seq: pt.seq_len,
        peak: toGiB(pt.peak_bytes),
        // Throughput only where the layout runs; a gap says "does not fit" better than a number.
        tokens: pt.feasible ? pt.tokens_per_s : null,
      })),
    [points],
  );
  const capacity = toGiB(capacityBytes);
  const maxGiB = Math.max(
    capacity * 1.15,
    ...data.filter((d) => d.seq <= (maxSeq ?? Infinity) * 2).map((d) => d.peak),
  );
  const atMax = maxSeq !== null ? data.find((d) => d.seq === maxSeq) : undefined;
  return (
    <figure
      className="chart"
      data-testid="sweep-chart"
      aria-label="Peak memory and tokens per second against sequence length for the selected layout"
    >
      <figcaption>
        Selected layout vs sequence length{' '}
        {maxSeq !== null ? (
          <span className="muted" data-testid="max-seq">
            · fits up to <strong>{formatSeqLenApprox(maxSeq)}</strong> tokens
          </span>
        ) : (
          <span className="muted" data-testid="max-seq">
            · fits no length tried
          </span>
        )}
      </figcaption>
      <ResponsiveContainer width="100%" height={240}>
        <ComposedChart data={data} margin={{ top: 16, right: 8, bottom: 4, left: 0 }}>
          <CartesianGrid stroke={p.grid} />
          <XAxis
            dataKey="seq"
            type="number"
            scale="log"
            domain={['dataMin', 'dataMax']}
            ticks={data
              .map((d) => d.seq)
              .filter((s) => Number.isInteger(Math.log2(s)) && Math.log2(s) % 1 === 0)}
            tickFormatter={(v: number) => formatSeqLen(v)}
            tick={{ fill: p.axis, fontSize: 11 }}
            stroke={p.grid}
          />
          <YAxis
            yAxisId="mem"
            tick={{ fill: p.axis, fontSize: 11 }}
            stroke={p.grid}
            domain={[0, Math.ceil(maxGiB / 10) * 10]}
            allowDataOverflow
            unit=" GiB"
            width={66}
          />
          <YAxis
            yAxisId="tok"
            orientation="right"
            tick={{ fill: p.axis, fontSize: 11 }}
            stroke={p.grid}
            tickFormatter={(v: number) => formatCount(v)}
            width={48}
          />
          <Tooltip
            {...tooltipStyle(p)}
            labelFormatter={(v) => `${formatSeqLen(Number(v))} tokens`}
            formatter={(v, name) =>
              name === 'peak'
                ? [formatBytes(Number(v) * 1024 ** 3), 'Peak memory']
                : [formatTokensPerSecond(Number(v)), 'Tokens/s']
            }
          />
          <ReferenceLine
            yAxisId="mem"
            y={capacity}
            stroke={p.capacity}
            strokeDasharray="6 3"
            strokeWidth={2}
            label={{
              value: 'capacity',
              position: 'insideBottomLeft',
              fill: p.capacity,
              fontSize: 11,
            }}
          />
          <ReferenceLine
            yAxisId="mem"
            x={seqLen}
            stroke={p.axis}
            strokeDasharray="2 3"
            label={{
              value: `now ${formatSeqLen(seqLen)}`,
              position: 'insideTopLeft',
              fill: p.axis,
              fontSize: 11,
            }}
          />
          {maxSeq !== null && (
            <ReferenceLine
              yAxisId="mem"
              x={maxSeq}
              stroke={p.selected}
              strokeWidth={1.5}
              label={{
                value: `max ${formatSeqLenApprox(maxSeq)}`,
                position: 'insideBottomRight',
                fill: p.selected,
                fontSize: 11,
              }}
            />
          )}
          {atMax && (
            <ReferenceDot
              yAxisId="mem"
              x={atMax.seq}
              y={atMax.peak}
              r={5}
              fill={p.selected}
              stroke="var(--panel)"
              strokeWidth={2}
            />
          )}
          <Line
            yAxisId="mem"
            dataKey="peak"
            stroke={p.peak}
            strokeWidth={2}
            dot={{ r: 2.5 }}
            isAnimationActive={false}
          />
          <Line
            yAxisId="tok"
            dataKey="tokens"
            stroke={p.tokens}
            strokeWidth={2}
            dot={{ r: 2.5 }}
            connectNulls={false}
            isAnimationActive={false}
          />
        </ComposedChart>
      </ResponsiveContainer>
      <ChartLegend
        items={[
          { label: 'Peak memory', color: p.peak, line: true },
          { label: 'Tokens/s', color: p.tokens, line: true },
          { label: 'Capacity', color: p.capacity, line: true },
        ]}
      />
    </figure>
  );
});
