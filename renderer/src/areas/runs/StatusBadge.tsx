import type { RunStatus } from '../../../../app/protocol/runs';

const TEXT: Record<RunStatus, string> = {
  starting: 'starting',
  running: 'running',
  stopping: 'stopping',
  succeeded: 'succeeded',
  failed: 'failed',
  stopped: 'stopped',
  unknown: 'unknown',
};

export function StatusBadge({ status }: { status: RunStatus }) {
  return (
    <span className={`status status-${status}`} data-testid="run-status" data-status={status}>
      <span className="status-dot" aria-hidden />
      {TEXT[status]}
    </span>
  );
}
