// Putting the runtime on a node: upload the bundle over SFTP only when the node lacks that hash,
// unpack it into <workdir>/runtime/<hash>/ and mark it complete last, so a half-unpacked folder
// is never mistaken for a runtime.
import crypto from 'node:crypto';
import { posixJoin, shq } from '../../app/launch';
import type { NodeChannel } from '../ssh/connection';
import type { Bundle } from './bundle';

export interface RuntimeOnNode {
  dir: string;
  uploaded: boolean;
}

export async function ensureRuntime(
  ch: NodeChannel,
  bundle: Bundle,
  workdir: string,
  onProgress?: (fraction: number) => void,
): Promise<RuntimeOnNode> {
  const base = posixJoin(workdir, 'runtime');
  const dir = posixJoin(base, bundle.hash);
  const check = await ch.exec('sh -s', {
    stdin: `if [ -f ${shq(posixJoin(dir, '.complete'))} ]; then echo present; else mkdir -p ${shq(base)} && echo missing; fi\n`,
    timeoutMs: 60_000,
  });
  if (check.stdout.includes('present')) return { dir, uploaded: false };
  if (!check.stdout.includes('missing'))
    throw new Error(
      `${ch.label}: cannot create ${base}: ${check.stderr.trim() || `exit ${check.code}`}`,
    );
  const nonce = crypto.randomBytes(4).toString('hex');
  const part = posixJoin(base, `${bundle.hash}.tar.gz.part-${nonce}`);
  const tmp = posixJoin(base, `${bundle.hash}.tmp-${nonce}`);
  await ch.upload(bundle.file, part, (done, total) => onProgress?.(total > 0 ? done / total : 1));
  const script = [
    'set -e',
    `mkdir -p ${shq(tmp)}`,
    `tar -xzf ${shq(part)} -C ${shq(tmp)}`,
    `mv -f ${shq(part)} ${shq(posixJoin(base, `${bundle.hash}.tar.gz`))}`,
    `touch ${shq(posixJoin(tmp, '.complete'))}`,
    // Another launch may have installed the same hash meanwhile: keep theirs.
    `if [ -d ${shq(dir)} ]; then rm -rf ${shq(tmp)}; else mv ${shq(tmp)} ${shq(dir)}; fi`,
    `echo installed`,
    '',
  ].join('\n');
  const r = await ch.exec('sh -s', { stdin: script, timeoutMs: 120_000 });
  if (!r.stdout.includes('installed')) {
    await ch.exec('sh -s', { stdin: `rm -rf ${shq(tmp)} ${shq(part)}\n` }).catch(() => undefined);
    throw new Error(
      `${ch.label}: unpacking the runtime failed: ${r.stderr.trim() || `exit ${r.code}`}`,
    );
  }
  return { dir, uploaded: true };
}
