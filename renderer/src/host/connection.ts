// Connects the UI to its host: through the Electron preload when present, else over the
// serve-mode WebSocket with the token from the URL fragment. Reconnects after a drop.
import { ProtocolClient } from '../../../app/protocol/client';
import type { ClientMessage, HostMessage } from '../../../app/protocol';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'unauthorized';

interface Bridge {
  send(m: ClientMessage): void;
  onMessage(l: (m: HostMessage) => void): () => void;
}

declare global {
  interface Window {
    spindle?: Bridge;
  }
}

const TOKEN_KEY = 'spindle.token';

/** Takes the token out of the address bar (so it is not bookmarked or shared) and keeps it for reloads. */
function serveToken(): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, m[1]);
    history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export interface HostLink {
  client: ProtocolClient;
  onState(l: (s: ConnectionState) => void): () => void;
}

export function connectToHost(): HostLink {
  const listeners = new Set<(s: ConnectionState) => void>();
  let current: ConnectionState = 'connecting';
  const setState = (s: ConnectionState) => {
    current = s;
    listeners.forEach((l) => l(s));
  };
  // A late listener learns the current state at once, so no transition is missed.
  const onState = (l: (s: ConnectionState) => void) => {
    listeners.add(l);
    l(current);
    return () => {
      listeners.delete(l);
    };
  };

  const bridge = window.spindle;
  if (bridge) {
    const client = new ProtocolClient((m) => bridge.send(m));
    bridge.onMessage((m) => client.receive(m));
    setState('connected');
    return { client, onState };
  }

  const token = serveToken();
  let ws: WebSocket | null = null;
  let queue: ClientMessage[] = [];
  let retry = 0;
  const client = new ProtocolClient((m) => {
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
    else queue.push(m);
  });
  const open = () => {
    setState('connecting');
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?token=${encodeURIComponent(token ?? '')}`;
    const sock = new WebSocket(url);
    ws = sock;
    let opened = false;
    sock.onopen = () => {
      opened = true;
      retry = 0;
      setState('connected');
      const pending = queue;
      queue = [];
      pending.forEach((m) => sock.send(JSON.stringify(m)));
    };
    sock.onmessage = (e) => client.receive(JSON.parse(String(e.data)) as HostMessage);
    sock.onclose = () => {
      client.disconnected();
      if (!opened && !token) {
        setState('unauthorized');
        return;
      }
      setState('disconnected');
      retry = Math.min(retry + 1, 6);
      setTimeout(open, 250 * 2 ** retry);
    };
  };
  open();
  return { client, onState };
}
