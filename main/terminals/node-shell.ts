// A shell on a node: an interactive pty channel over the node's SSH connection (main/ssh via the
// node manager's connection pool, so host-key checks, ProxyJump and auth are the ones the rest
// of the studio uses), wrapped as a ShellBackend with the same flow control as a local pty.
import { StringDecoder } from 'node:string_decoder';
import type { ShellBackend } from './session';

/** The part of an ssh2 ClientChannel a terminal uses. */
export interface PtyChannel {
  write(data: string): unknown;
  setWindow(rows: number, cols: number, height: number, width: number): unknown;
  pause(): unknown;
  resume(): unknown;
  close(): unknown;
  on(event: 'data', listener: (d: Buffer) => void): unknown;
  on(event: 'exit', listener: (code: number | null, signal?: string) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  stderr: { on(event: 'data', listener: (d: Buffer) => void): unknown };
}

export function sshShellBackend(ch: PtyChannel): ShellBackend {
  // A multi-byte character can straddle two packets: decode as a stream, not per chunk.
  const out = new StringDecoder('utf8');
  const err = new StringDecoder('utf8');
  const dataListeners: ((d: string) => void)[] = [];
  const exitListeners: ((code: number | null) => void)[] = [];
  let code: number | null = null;
  let ended = false;
  ch.on('data', (d) => {
    const s = out.write(d);
    if (s) dataListeners.forEach((l) => l(s));
  });
  ch.stderr.on('data', (d) => {
    const s = err.write(d);
    if (s) dataListeners.forEach((l) => l(s));
  });
  ch.on('exit', (c) => {
    code = c;
  });
  ch.on('close', () => {
    if (ended) return;
    ended = true;
    exitListeners.forEach((l) => l(code));
  });
  return {
    write: (d) => void ch.write(d),
    resize: (cols, rows) => void ch.setWindow(rows, cols, 0, 0),
    pause: () => void ch.pause(),
    resume: () => void ch.resume(),
    kill: () => {
      // Resumed first: a paused channel would hold back the close it is waiting for.
      ch.resume();
      ch.close();
    },
    onData: (l) => void dataListeners.push(l),
    onExit: (l) => void exitListeners.push(l),
  };
}
