// Test helper: which processes still mention a string (a run id) in their command line. The
// namespaces share this computer's pid space, so this sees every node's processes.
import fs from 'node:fs';

export function processesMentioning(needle: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cmd.includes(needle)) out.push({ pid: Number(d), cmd });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}
