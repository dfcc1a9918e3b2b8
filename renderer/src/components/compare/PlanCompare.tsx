// Planner vs runtime for one run: every memory term the runtime measured next to the planner's
// prediction (app/planner/compare.ts), in human units, with the relative error and the terms over
// their tolerance highlighted. Pure presentation: the Runs area passes a Comparison, or the plan
// and the run's events and the component compares them.
import { useMemo } from 'react';
import {
  compareMemory,
  formatBytesPrecise,
  formatError,
  type Comparison,
  type CompareRow,
  type LayoutPlan,
} from '../../../../app/planner';
import type { RunEvent } from '../../../../app/metrics/events';
import './compare.css';

export type PlanCompareProps = { caption?: string; showUnchecked?: boolean } & (
  { comparison: Comparison } | { plan: LayoutPlan; events: RunEvent[] }
);

const MOMENT: Record<CompareRow['phase'], string> = {
  loss: 'end of forward / loss',
  layer_backward: 'last layer backward',
  step: 'whole step',
};

export type RowStatus = 'over' | 'ok' | 'unchecked' | 'missing';

export function rowStatus(r: CompareRow): RowStatus {
  if (r.measured === null) return 'missing';
  if (r.ok === false) return 'over';
  if (r.ok === true) return 'ok';
  return 'unchecked';
}

function toleranceLabel(r: CompareRow): string {
  if (r.tolerance === null) return 'not checked';
  return r.tolerance === 0 ? 'exact' : `±${(r.tolerance * 100).toFixed(0)} %`;
}

/** Rows in display order, grouped by moment; unchecked ones only when asked for. */
export function visibleRows(c: Comparison, showUnchecked: boolean): CompareRow[] {
  const order: CompareRow['phase'][] = ['loss', 'layer_backward', 'step'];
  return order.flatMap((phase) =>
    c.rows.filter(
      (r) =>
        r.phase === phase && (showUnchecked || rowStatus(r) === 'ok' || rowStatus(r) === 'over'),
    ),
  );
}

export function verdict(c: Comparison): string {
  if (c.ranks === 0) return 'No memory measurement in this run yet (written after its first step).';
  const checked = c.rows.filter((r) => r.ok !== null).length;
  if (c.ok)
    return `All ${checked} checked terms agree with the planner (${c.ranks} rank${c.ranks === 1 ? '' : 's'}).`;
  const names = c.failures.map((f) => `${f.term} (${formatError(f.error)})`).join(', ');
  return `${c.failures.length} of ${checked} checked terms are over tolerance: ${names}.`;
}

export function PlanCompare(props: PlanCompareProps) {
  const { caption = 'Memory: planner vs measured', showUnchecked = true } = props;
  const plan = 'plan' in props ? props.plan : null;
  const events = 'events' in props ? props.events : null;
  const given = 'comparison' in props ? props.comparison : null;
  const comparison = useMemo(() => given ?? compareMemory(plan!, events!), [given, plan, events]);
  const rows = visibleRows(comparison, showUnchecked);
  let lastPhase: CompareRow['phase'] | null = null;
  return (
    <figure
      className="plan-compare"
      data-testid="plan-compare"
      data-ok={comparison.ok ? 'true' : 'false'}
    >
      <figcaption>
        <span className="plan-compare-title">{caption}</span>
        <span
          className={`plan-compare-verdict ${comparison.ok ? 'is-ok' : 'is-over'}`}
          role="status"
        >
          {verdict(comparison)}
        </span>
      </figcaption>
      <table className="plan-compare-table">
        <thead>
          <tr>
            <th scope="col">Term</th>
            <th scope="col">Predicted</th>
            <th scope="col">Measured</th>
            <th scope="col">Error</th>
            <th scope="col">Tolerance</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const status = rowStatus(r);
            const head =
              r.phase !== lastPhase ? (
                <tr key={`h-${r.phase}`} className="plan-compare-moment">
                  <th scope="rowgroup" colSpan={5}>
                    {MOMENT[r.phase]}
                  </th>
                </tr>
              ) : null;
            lastPhase = r.phase;
            return [
              head,
              <tr
                key={`${r.phase}-${r.term}`}
                className={`plan-compare-row is-${status}`}
                data-status={status}
                title={r.note}
              >
                <th scope="row">{r.term.replace('_', ' ')}</th>
                <td>{formatBytesPrecise(r.predicted)}</td>
                <td>{r.measured === null ? 'not measured' : formatBytesPrecise(r.measured)}</td>
                <td className="plan-compare-error">{formatError(r.error)}</td>
                <td>{toleranceLabel(r)}</td>
              </tr>,
            ];
          })}
        </tbody>
      </table>
      {comparison.measured_phase && comparison.measured_phase !== comparison.predicted_phase ? (
        <p className="plan-compare-note">
          Peak moment: predicted {MOMENT[comparison.predicted_phase]}, measured{' '}
          {MOMENT[comparison.measured_phase as CompareRow['phase']] ?? comparison.measured_phase}.
        </p>
      ) : null}
    </figure>
  );
}

export default PlanCompare;
