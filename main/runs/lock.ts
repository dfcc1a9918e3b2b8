// One watcher per run across processes: a studio and a CLI sharing a data dir must not both
// append to the same mirrors. The lock file holds the owner's pid; a dead owner's lock is taken
// over, so a crashed host never blocks the run's record.
import fs from 'node:fs';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockOwner(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Try to own the lock; true when this process holds it afterwards. */
export function tryLock(file: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = lockOwner(file);
      if (owner === process.pid) return true;
      if (owner !== null) return false;
      // Stale: its owner is gone. Remove and retry once (another process may win the race).
      try {
        fs.unlinkSync(file);
      } catch {
        /* someone else took it over first */
      }
    }
  }
  return false;
}

export function unlock(file: string) {
  if (lockOwner(file) === process.pid) fs.rmSync(file, { force: true });
}
