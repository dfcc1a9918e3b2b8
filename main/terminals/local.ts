// The local shell: the user's login shell in a pseudo-terminal (node-pty).
import fs from 'node:fs';
import os from 'node:os';
import * as pty from 'node-pty';
import type { ShellBackend } from './session';

export function defaultShell(): { file: string; args: string[] } {
  if (process.platform === 'win32')
    return { file: process.env.COMSPEC ?? 'powershell.exe', args: [] };
  const candidates = [process.env.SHELL, '/bin/bash', '/bin/sh'].filter((s): s is string => !!s);
  const file = candidates.find((s) => fs.existsSync(s)) ?? '/bin/sh';
  return { file, args: [] };
}

export interface LocalShellOptions {
  cols: number;
  rows: number;
  /** Override the shell (tests run a known one). */
  shell?: { file: string; args: string[] };
  cwd?: string;
  env?: Record<string, string>;
}

export function openLocalShell(opts: LocalShellOptions): ShellBackend {
  const { file, args } = opts.shell ?? defaultShell();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  // The host's own settings are not the shell's business.
  delete env.ELECTRON_RUN_AS_NODE;
  Object.assign(
    env,
    { TERM: 'xterm-256color', COLORTERM: 'truecolor', TERM_PROGRAM: 'Spindle' },
    opts.env,
  );
  const p = pty.spawn(file, args, {
    name: 'xterm-256color',
    cols: opts.cols,
    rows: opts.rows,
    cwd: opts.cwd ?? os.homedir(),
    env,
  });
  let killTimer: NodeJS.Timeout | null = null;
  p.onExit(() => {
    if (killTimer) clearTimeout(killTimer);
  });
  return {
    pid: p.pid,
    write: (d) => p.write(d),
    resize: (c, r) => p.resize(c, r),
    pause: () => p.pause(),
    resume: () => p.resume(),
    kill: () => {
      // A paused pty would never read the shell's last output, and the exit would wait on it.
      p.resume();
      p.kill(process.platform === 'win32' ? undefined : 'SIGHUP');
      // A shell that ignores SIGHUP (trap '' HUP) still goes.
      killTimer = setTimeout(() => {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 2000);
      killTimer.unref();
    },
    onData: (l) => void p.onData(l),
    onExit: (l) => void p.onExit((e) => l(e.signal ? null : e.exitCode)),
  };
}
