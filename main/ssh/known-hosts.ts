// OpenSSH known_hosts: reading (plain and hashed "|1|" names, "[host]:port", patterns and
// negations, @revoked and @cert-authority markers), checking a presented host key, and appending
// accepted keys in the same format `ssh` writes. The file is the user's own, shared with OpenSSH.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface KnownHostEntry {
  /** 1-based line number, for messages that point at the line to remove. */
  line: number;
  marker: '@revoked' | '@cert-authority' | null;
  /** The host field as written: comma-separated patterns or one hashed name. */
  hosts: string;
  keyType: string;
  /** Base64 key blob. */
  key: string;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'] = null;
    if (fields[0].startsWith('@')) {
      if (fields[0] !== '@revoked' && fields[0] !== '@cert-authority') return; // unknown marker: ignore the line, as ssh does
      marker = fields.shift() as KnownHostEntry['marker'];
    }
    if (fields.length < 3) return;
    const [hosts, keyType, key] = fields;
    out.push({ line: i + 1, marker, hosts, keyType, key });
  });
  return out;
}

/** The name OpenSSH looks up: "host" on port 22, "[host]:port" otherwise. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function hashedMatches(field: string, name: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  const parts = field.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2], 'base64');
  const want = Buffer.from(parts[3], 'base64');
  const got = crypto.createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && crypto.timingSafeEqual(want, got);
}

/** Whether an entry's host field names host:port. */
export function entryMatches(hosts: string, host: string, port: number): boolean {
  const name = hostKeyName(host, port);
  if (hosts.startsWith('|')) return hashedMatches(hosts, name);
  let positive = false;
  for (const pat of hosts.split(',')) {
    const negated = pat.startsWith('!');
    const p = negated ? pat.slice(1) : pat;
    // "[host]:22" and "host" name the same endpoint.
    const candidates = port === 22 ? [name, `[${host}]:22`] : [name];
    if (candidates.some((c) => globToRegExp(p).test(c))) {
      if (negated) return false;
      positive = true;
    }
  }
  return positive;
}

export type HostKeyCheck =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'unknown' }
  /** Keys are on file for this host but the presented one is not among them. */
  | { status: 'changed'; known: KnownHostEntry[] }
  | { status: 'revoked'; entry: KnownHostEntry };

export function checkHostKey(
  entries: KnownHostEntry[],
  host: string,
  port: number,
  keyType: string,
  keyBase64: string,
): HostKeyCheck {
  const forHost = entries.filter(
    (e) => e.marker !== '@cert-authority' && entryMatches(e.hosts, host, port),
  );
  const revoked = entries.find((e) => e.marker === '@revoked' && e.key === keyBase64);
  if (revoked) return { status: 'revoked', entry: revoked };
  const match = forHost.find(
    (e) => e.marker === null && e.keyType === keyType && e.key === keyBase64,
  );
  if (match) return { status: 'known', entry: match };
  const known = forHost.filter((e) => e.marker === null);
  // A key of another type than the ones on file counts as changed too: the connection already
  // prefers the known types, so a server that offers none of them is not the server we knew.
  if (known.length > 0) return { status: 'changed', known };
  return { status: 'unknown' };
}

/** Key types on file for host:port, to ask the server for those first (as OpenSSH does). */
export function knownKeyTypes(entries: KnownHostEntry[], host: string, port: number): string[] {
  return [
    ...new Set(
      entries
        .filter((e) => e.marker === null && entryMatches(e.hosts, host, port))
        .map((e) => e.keyType),
    ),
  ];
}

export function readKnownHosts(file: string): KnownHostEntry[] {
  try {
    return parseKnownHosts(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export function formatKnownHostsLine(
  host: string,
  port: number,
  keyType: string,
  keyBase64: string,
): string {
  return `${hostKeyName(host, port)} ${keyType} ${keyBase64}`;
}

/**
 * Append an accepted key. Appending (not rewriting) keeps the user's file intact, comments and
 * other tools' lines included; a missing final newline is repaired first.
 */
export function appendKnownHost(
  file: string,
  host: string,
  port: number,
  keyType: string,
  keyBase64: string,
): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const st = fs.statSync(file);
    if (st.size > 0) {
      const fd = fs.openSync(file, 'r');
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, st.size - 1);
      fs.closeSync(fd);
      if (last[0] !== 0x0a) prefix = '\n';
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  fs.appendFileSync(file, `${prefix}${formatKnownHostsLine(host, port, keyType, keyBase64)}\n`, {
    mode: 0o644,
  });
}

/** The SSH wire blob's key type (its first string). */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** "SHA256:…" as `ssh-keygen -l` and `ssh` print it. */
export function fingerprintOfBlob(blob: Buffer): string {
  return 'SHA256:' + crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

export function fingerprintOfBase64(keyBase64: string): string {
  return fingerprintOfBlob(Buffer.from(keyBase64, 'base64'));
}
