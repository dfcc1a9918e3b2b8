// The run list's pure rules: which statuses are live, and the filter box.
import type { RunStatus, RunSummary } from '../../../../app/protocol/runs';

export type StatusFilter = 'all' | 'active' | 'finished';

export const ACTIVE: ReadonlySet<RunStatus> = new Set(['starting', 'running', 'stopping']);
export const isActive = (s: RunStatus) => ACTIVE.has(s);

/** Runs matching the list's filter box and status choice. */
export function filterRuns(runs: RunSummary[], text: string, status: StatusFilter): RunSummary[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  return runs.filter((r) => {
    if (status === 'active' && !isActive(r.status)) return false;
    if (status === 'finished' && isActive(r.status)) return false;
    const hay = `${r.name} ${r.target} ${r.status} ${r.id}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}
