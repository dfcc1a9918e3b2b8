// Every layout the planner considered, best first. Keyboard: ↑/↓ (Home/End, PageUp/PageDown) move,
// Enter selects, u writes the selected layout into the config. Sorting by any column; the
// planner's own order ("rank") is the default. Infeasible layouts are behind a toggle, each with
// the planner's reasons in words.
import { memo, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { LayoutPlan } from '../../../../app/planner/types';
import {
  formatBytes,
  formatPercent,
  formatSeconds,
  formatSeqLen,
  formatTokensPerSecond,
} from './format';
import { commonReasons } from './hints';
import { tableRows, type Row } from './rows';
import { layoutKey, selectedLayout, usePlan, type SortKey } from './store';

export { rankedRows, tableRows, type Row } from './rows';

const COLUMNS: { key: SortKey; label: string; title: string; numeric?: boolean }[] = [
  { key: 'rank', label: '#', title: 'Planner rank (best first)', numeric: true },
  {
    key: 'layout',
    label: 'ulysses × ring × dp',
    title: 'Sequence-parallel layout: Ulysses degree × ring degree × data-parallel replicas',
  },
  { key: 'zero', label: 'ZeRO', title: 'ZeRO stage' },
  { key: 'checkpointing', label: 'Ckpt', title: 'Activation checkpointing' },
  { key: 'offload', label: 'Offload', title: 'Host offload: optimizer, params, activations' },
  { key: 'chunks', label: 'Chunks', title: 'Attention chunks per local sequence', numeric: true },
  {
    key: 'memory',
    label: 'Peak memory',
    title: 'Peak GPU memory per GPU; the bar is its share of the usable capacity',
    numeric: true,
  },
  { key: 'step', label: 'Step', title: 'Time per optimizer step', numeric: true },
  {
    key: 'tokens',
    label: 'Tokens/s',
    title: 'Training throughput of the whole cluster',
    numeric: true,
  },
  { key: 'mfu', label: 'MFU', title: 'Model FLOPs utilisation (causal-aware)', numeric: true },
];

export function offloadText(l: LayoutPlan): string {
  const parts = [
    l.offload.optimizer && 'opt',
    l.offload.params && 'params',
    l.offload.activations && 'act',
  ].filter(Boolean);
  return parts.length ? parts.join('+') : '—';
}

const LayoutRow = memo(function LayoutRow({
  row,
  selected,
  active,
  onPick,
}: {
  row: Row;
  selected: boolean;
  active: boolean;
  onPick: (key: string) => void;
}) {
  const l = row.layout;
  const frac = l.memory.peak_bytes / l.memory.capacity_bytes;
  return (
    <tr
      id={`layout-${row.key}`}
      role="row"
      aria-selected={selected}
      data-key={row.key}
      data-feasible={l.feasible}
      className={`${selected ? 'selected' : ''} ${active ? 'active' : ''} ${l.feasible ? '' : 'infeasible'}`}
      onClick={() => onPick(row.key)}
    >
      <td className="num muted">{row.rank}</td>
      <td className="layout-cell">
        <span className="mono">
          {l.ulysses} × {l.ring} × {l.dp}
        </span>
        {!l.feasible && (
          <div className="reasons" data-testid="layout-reasons">
            {l.reasons.join(' · ')}
          </div>
        )}
      </td>
      <td>{l.zero}</td>
      <td>{l.checkpointing}</td>
      <td>{offloadText(l)}</td>
      <td className="num">{l.chunks}</td>
      <td className="num">
        <div
          className="membar"
          title={`${formatBytes(l.memory.peak_bytes)} of ${formatBytes(l.memory.capacity_bytes)}`}
        >
          <span
            className={frac > 1 ? 'over' : frac > 0.9 ? 'tight' : ''}
            style={{ width: `${Math.min(frac, 1) * 100}%` }}
          />
        </div>
        <span className={frac > 1 ? 'bad' : ''}>{formatBytes(l.memory.peak_bytes)}</span>
      </td>
      <td className="num">{l.feasible ? formatSeconds(l.step_time_s) : '—'}</td>
      <td className="num">{l.feasible ? formatTokensPerSecond(l.tokens_per_s) : '—'}</td>
      <td className="num">{l.feasible ? formatPercent(l.mfu) : '—'}</td>
    </tr>
  );
});

export function LayoutTable() {
  const plan = usePlan((s) => s.plan);
  const sort = usePlan((s) => s.sort);
  const showInfeasible = usePlan((s) => s.showInfeasible);
  const selectedKey = usePlan((s) => s.selectedKey);
  const explain = usePlan((s) => s.explain);
  const shownSeq = usePlan((s) => s.shownSeq);
  const settled = usePlan((s) => s.settled);
  const stale = usePlan((s) => s.issues.length > 0 || s.planError !== null);
  const [activeKey, setActiveKey] = useState<string | null>(null);
  const scroller = useRef<HTMLDivElement>(null);

  const rows = useMemo(
    () => (plan ? tableRows(plan, sort, showInfeasible) : []),
    [plan, sort, showInfeasible],
  );
  const infeasibleCount = useMemo(
    () => (plan ? plan.layouts.filter((l) => !l.feasible).length : 0),
    [plan],
  );
  const current = selectedLayout(plan, selectedKey);
  const currentKey = current ? layoutKey(current) : null;
  const active = activeKey && rows.some((r) => r.key === activeKey) ? activeKey : currentKey;

  // Edit → updated table, measured when React has put the new rows into the DOM, with how many
  // frames the table lagged the typed character and how long of it was the wait for the first
  // frame after the edit (the browser's part: nothing else runs before it). Recorded as a User
  // Timing measure (visible in DevTools' performance panel; the e2e test reads it).
  const measured = useRef(0);
  useLayoutEffect(() => {
    if (!settled || settled.seq !== shownSeq || measured.current === settled.seq) return;
    measured.current = settled.seq;
    const end = performance.now();
    const { since, firstFrameAt } = settled;
    performance.measure('spindle.plan.update', {
      start: since,
      end,
      detail: {
        framesLate: settled.framesLate,
        // The frame's start can precede the end of the key's own handling; never below zero.
        frameWaitMs:
          firstFrameAt !== null ? Math.min(end - since, Math.max(0, firstFrameAt - since)) : null,
      },
    });
  }, [settled, shownSeq]);

  useLayoutEffect(() => {
    if (!active) return;
    document.getElementById(`layout-${active}`)?.scrollIntoView({ block: 'nearest' });
  }, [active]);

  const pick = (key: string) => {
    setActiveKey(key);
    usePlan.getState().select(key);
  };

  const onKey = (e: KeyboardEvent) => {
    if (!rows.length) return;
    const i = Math.max(
      0,
      rows.findIndex((r) => r.key === active),
    );
    const page = Math.max(1, Math.floor((scroller.current?.clientHeight ?? 300) / 34) - 1);
    const to = (n: number) => {
      e.preventDefault();
      setActiveKey(rows[Math.min(Math.max(n, 0), rows.length - 1)].key);
    };
    if (e.key === 'ArrowDown') to(i + 1);
    else if (e.key === 'ArrowUp') to(i - 1);
    else if (e.key === 'Home') to(0);
    else if (e.key === 'End') to(rows.length - 1);
    else if (e.key === 'PageDown') to(i + page);
    else if (e.key === 'PageUp') to(i - page);
    else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      if (active) usePlan.getState().select(active);
    } else if ((e.key === 'u' || e.key === 'U') && !e.ctrlKey && !e.metaKey && current) {
      e.preventDefault();
      usePlan.getState().useLayout(current);
    }
  };

  if (!plan) return null;
  const feasibleCount = plan.layouts.length - infeasibleCount;

  return (
    <section className={`layout-table-wrap ${stale ? 'stale' : ''}`} aria-label="Layouts">
      <div className="table-toolbar">
        <h2>
          Layouts{' '}
          <span className="muted" data-testid="layout-counts">
            {feasibleCount} fit · {infeasibleCount} don't
          </span>
        </h2>
        <span className="muted small" data-testid="layout-context">
          {plan.cluster.world} × {plan.cluster.gpu_label} ·{' '}
          {formatBytes(plan.cluster.capacity_bytes)} usable per GPU · {formatSeqLen(plan.seq_len)}{' '}
          tokens
        </span>
        <span className="sep" />
        <label className="toggle">
          <input
            type="checkbox"
            checked={showInfeasible}
            onChange={() => usePlan.getState().toggleInfeasible()}
            data-testid="show-infeasible"
          />
          Show infeasible ({infeasibleCount})
        </label>
      </div>
      <div className="table-scroll" ref={scroller}>
        <table
          className="layouts"
          role="grid"
          aria-label="Layouts, best first"
          aria-rowcount={rows.length + 1}
          aria-activedescendant={active ? `layout-${active}` : undefined}
          tabIndex={0}
          data-testid="layout-table"
          onKeyDown={onKey}
        >
          <thead>
            <tr role="row">
              {COLUMNS.map((c) => (
                <th
                  key={c.key}
                  role="columnheader"
                  className={c.numeric ? 'num' : ''}
                  aria-sort={
                    sort.key === c.key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'
                  }
                  title={c.title}
                >
                  <button type="button" onClick={() => usePlan.getState().setSort(c.key)}>
                    {c.label}
                    <span className="sort-mark" aria-hidden>
                      {sort.key === c.key ? (sort.dir === 'asc' ? '▲' : '▼') : ''}
                    </span>
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <LayoutRow
                key={r.key}
                row={r}
                selected={r.key === currentKey}
                active={r.key === active}
                onPick={pick}
              />
            ))}
          </tbody>
        </table>
        {rows.length === 0 && (
          <div className="table-empty" role="note">
            <strong>No layout fits.</strong>{' '}
            {infeasibleCount > 0 && !showInfeasible ? (
              <button
                type="button"
                className="link"
                onClick={() => usePlan.getState().toggleInfeasible()}
              >
                Show the {infeasibleCount} infeasible layouts and why
              </button>
            ) : null}
            {plan.layouts.length === 0 && explain && (
              <p className="muted small">
                The config pins ulysses {explain.ulysses} × ring {explain.ring}; no layout of this
                cluster completes it:
              </p>
            )}
            <ul className="why" data-testid="no-fit-reasons">
              {commonReasons(plan.layouts.length ? plan.layouts : explain ? [explain] : [], 4).map(
                (r) => (
                  <li key={r}>{r}</li>
                ),
              )}
            </ul>
          </div>
        )}
      </div>
    </section>
  );
}
