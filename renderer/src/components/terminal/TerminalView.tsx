// A shell in the UI: xterm.js bound to a host terminal (terminals.* in the protocol). Reusable:
// target 'local' is a shell on the computer running the host, { node } a shell on a node over
// SSH. With a `sessionKey` the shell outlives the view (tabs, area switches) until
// closeTerminal(key); without one it closes when the view unmounts.
import { useEffect, useRef, useState } from 'react';
import '@xterm/xterm/css/xterm.css';
import './terminal.css';
import {
  keyedSession,
  TerminalSession,
  type SessionSnapshot,
  type TerminalTarget,
} from './session';

export interface TerminalViewProps {
  target: TerminalTarget;
  sessionKey?: string;
  /** False while the tab is hidden: a hidden terminal has no size to fit to. */
  active?: boolean;
  /** Called when the snapshot changes: title from the host, open/exited/failed. */
  onState?: (s: SessionSnapshot) => void;
  /** The host's title for the shell ("This computer", the node's name…). */
  onTitle?: (title: string) => void;
  /** The shell ended (code null: by a signal, or the host lost it). */
  onExit?: (code: number | null) => void;
  /** Accessible name of the terminal region. */
  label?: string;
  autoFocus?: boolean;
}

export function TerminalView({
  target,
  sessionKey,
  active = true,
  onState,
  onTitle,
  onExit,
  label,
  autoFocus = true,
}: TerminalViewProps) {
  const box = useRef<HTMLDivElement>(null);
  const [session, setSession] = useState<TerminalSession | null>(null);
  const [snap, setSnap] = useState<SessionSnapshot | null>(null);
  // Callbacks change identity on every parent render; the session must not be re-made for that.
  const cbs = useRef({ onState, onTitle, onExit });
  cbs.current = { onState, onTitle, onExit };
  const targetKey = target === 'local' ? 'local' : `node:${target.node}`;

  useEffect(() => {
    const s = sessionKey ? keyedSession(sessionKey, target) : new TerminalSession(target);
    setSession(s);
    s.mount(box.current!);
    let prev: SessionSnapshot | null = null;
    const sync = () => {
      const now = s.snapshot;
      setSnap(now);
      cbs.current.onState?.(now);
      if (now.title && now.title !== prev?.title) cbs.current.onTitle?.(now.title);
      if (now.state === 'exited' && prev?.state !== 'exited') cbs.current.onExit?.(now.exitCode);
      prev = now;
    };
    sync();
    const off = s.onChange(sync);
    return () => {
      off();
      s.unmount();
      if (!sessionKey) s.close();
    };
    // A session belongs to one (key, target).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sessionKey, targetKey]);

  // Brought to front: fit to the (now real) size and take the keyboard.
  useEffect(() => {
    if (!active || !session) return;
    session.fitNow();
    if (autoFocus) session.focus();
  }, [active, session, autoFocus, snap?.state]);

  return (
    <div className="terminal-view" data-state={snap?.state ?? 'opening'} data-testid="terminal">
      <div
        ref={box}
        className="terminal-box"
        role="region"
        aria-label={
          label ?? (target === 'local' ? 'Terminal on this computer' : `Terminal on ${target.node}`)
        }
      />
      {snap?.state === 'failed' && snap.error ? (
        <p className="terminal-error" role="alert">
          Could not open the shell: {snap.error}
        </p>
      ) : null}
    </div>
  );
}
