import { useApp } from '../state/app';

const STATE_TEXT = {
  connecting: 'Connecting…',
  connected: 'Connected',
  disconnected: 'Disconnected — reconnecting',
  unauthorized: 'Not authorized: open the URL that `spindle serve` printed',
} as const;

export function StatusBar() {
  const { connection, hostInfo, hostError } = useApp();
  return (
    <footer className="statusbar" role="status">
      <span className={`dot ${connection}`} aria-hidden />
      <span data-testid="connection-state">{STATE_TEXT[connection]}</span>
      <span className="sep" />
      {hostInfo ? (
        <span data-testid="host-version">
          Spindle host {hostInfo.version} · {hostInfo.door} · {hostInfo.platform}/{hostInfo.arch}
        </span>
      ) : hostError ? (
        <span className="error">host: {hostError}</span>
      ) : null}
    </footer>
  );
}
