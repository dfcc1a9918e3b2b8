// The Runs area: the run index on the left; the open run (live charts, logs, config) or the
// launch panel on the right; terminals docked underneath.
import { useEffect } from 'react';
import './runs.css';
import { RunsList } from './RunsList';
import { RunView } from './RunView';
import { LaunchPanel } from './LaunchPanel';
import { TerminalDock } from './TerminalDock';
import { useRuns } from './store';
import { ErrorBoundary } from './ErrorBoundary';

export function RunsArea() {
  const { runs, selected, mode, listState, actionError, dismissError, start } = useRuns();
  useEffect(() => start(), [start]);
  const run = mode === 'run' && selected ? runs.find((r) => r.id === selected) : undefined;
  const showLaunch = mode === 'launch' || (listState === 'ready' && !run);

  return (
    <div className="runs-area">
      <RunsList />
      <div className="runs-main">
        {actionError ? (
          <div className="run-error banner" role="alert">
            {actionError}
            <button className="link" onClick={dismissError}>
              dismiss
            </button>
          </div>
        ) : null}
        {run ? (
          <ErrorBoundary what="run view" resetKey={run.id}>
            <RunView key={run.id} run={run} />
          </ErrorBoundary>
        ) : showLaunch ? (
          <ErrorBoundary what="launch panel">
            <LaunchPanel />
          </ErrorBoundary>
        ) : (
          <p className="muted pad">Loading runs…</p>
        )}
      </div>
      <TerminalDock />
    </div>
  );
}
