// ProxyCommand: ssh's way to reach a host through any program that carries the connection on its
// stdin and stdout — a bastion's `ssh -W %h:%p`, or a cloud tunnel (AWS SSM, GCP IAP). Run as ssh
// runs it: through the user's shell, exec'd so the pipe's other end is the program itself.
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';

export interface ProxyProcess {
  /** The connection's byte stream, for ssh2's `sock`. */
  sock: Duplex;
  /** Resolves when the program has ended, with how (exit status and the tail of its stderr). */
  ended: Promise<string>;
  stop(): void;
}

const STDERR_KEPT = 2000;

export function startProxyCommand(command: string): ProxyProcess {
  const shell = process.env.SHELL || '/bin/sh';
  const child = spawn(shell, ['-c', `exec ${command}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (stderr = (stderr + d).slice(-STDERR_KEPT)));
  const ended = new Promise<string>((resolve) => {
    child.on('error', (e) => resolve(`could not start: ${e.message}`));
    child.on('close', (code, signal) => {
      const said = stderr.trim().split('\n').slice(-3).join(' | ');
      resolve(
        `${signal ? `was killed by ${signal}` : `exited with status ${code}`}${said ? `: ${said}` : ''}`,
      );
    });
  });
  // A write after the program has gone is reported by ssh2 as the connection closing.
  child.stdin.on('error', () => undefined);
  return {
    sock: Duplex.from({ readable: child.stdout, writable: child.stdin }),
    ended,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
