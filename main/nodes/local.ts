// "This computer" as a node: the same channel the SSH nodes offer (shell commands, byte-range
// reads, atomic writes), on the local filesystem and /bin/sh. The local target runs the very same
// scripts as remote nodes, so there is one launch path to get right.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ExecResult, NodeChannel, RunningCommand } from '../ssh/connection';
import { writeFileAtomicSync } from './atomic';

export const LOCAL_NODE = 'this computer';

export class LocalChannel implements NodeChannel {
  readonly label = LOCAL_NODE;
  readonly closed = false;

  start(command: string, opts: { stdin?: string } = {}): RunningCommand {
    let onOut: ((chunk: string) => void) | null = null;
    const done = new Promise<ExecResult>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const errs: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => {
        out.push(d);
        onOut?.(d.toString('utf8'));
      });
      child.stderr.on('data', (d: Buffer) => errs.push(d));
      child.on('error', reject);
      child.on('close', (code, signal) =>
        resolve({
          code,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(errs).toString('utf8'),
        }),
      );
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.stdin ?? '');
    });
    return { done, onStdout: (cb) => (onOut = cb) };
  }

  exec(command: string, opts: { stdin?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    return this.start(command, opts).done;
  }

  async readFrom(file: string, offset: number, max: number): Promise<Buffer | null> {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    try {
      const buf = Buffer.alloc(max);
      let got = 0;
      while (got < max) {
        const n = fs.readSync(fd, buf, got, max - got, offset + got);
        if (n <= 0) break;
        got += n;
      }
      return buf.subarray(0, got);
    } finally {
      fs.closeSync(fd);
    }
  }

  async writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
    writeFileAtomicSync(file, data);
  }

  async upload(
    localFile: string,
    remoteFile: string,
    onProgress?: (done: number, total: number) => void,
  ): Promise<void> {
    fs.mkdirSync(path.dirname(remoteFile), { recursive: true });
    fs.copyFileSync(localFile, remoteFile);
    const size = fs.statSync(remoteFile).size;
    onProgress?.(size, size);
  }

  onClose(): void {}
  close(): void {}
}
