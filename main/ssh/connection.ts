// SSH connections with ssh2: a chain of hops (ProxyJump) where every hop's host key is checked
// against known_hosts, auth by agent, key files (passphrases asked), keyboard-interactive and
// password (asked, kept in memory only). The connection offers what the rest of the host needs:
// exec with stdin, byte-range reads, atomic writes and uploads over SFTP.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, utils, type ClientChannel, type SFTPWrapper, type AuthenticationType } from 'ssh2';
import type { Answer, Asker, Question } from './asker';
import { NoOneToAsk } from './asker';
import { startProxyCommand, type ProxyProcess } from './proxy-command';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintOfBase64,
  fingerprintOfBlob,
  hostKeyName,
  keyTypeOfBlob,
  knownKeyTypes,
  readKnownHosts,
} from './known-hosts';

export interface Hop {
  /** The name the user gave this hop (node name, ssh-config alias or user@host). */
  label: string;
  host: string;
  port: number;
  user: string;
  /** Key files to offer; when empty, the default ~/.ssh/id_* files that exist. */
  identityFiles: string[];
  /** Reach this hop through this program (ssh_config ProxyCommand, tokens expanded); first hop only. */
  proxyCommand?: string;
}

export interface ConnectOptions {
  knownHostsFile: string;
  asker: Asker;
  /** ssh-agent socket; defaults to SSH_AUTH_SOCK. null disables the agent. */
  agent?: string | null;
  /** Time allowed per hop for TCP, handshake and auth, not counting time spent waiting for a person. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type SshErrorKind =
  | 'hostkey-changed'
  | 'hostkey-unknown'
  | 'hostkey-revoked'
  | 'auth'
  | 'network'
  | 'timeout'
  | 'closed';

export class SshError extends Error {
  constructor(
    readonly kind: SshErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'SshError';
  }
}

const ALL_HOST_KEY_ALGOS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** Algorithms to ask for, the key types already on file first (OpenSSH does the same). */
function hostKeyAlgorithms(knownTypes: string[]): string[] {
  const preferred: string[] = [];
  for (const t of knownTypes) {
    if (t === 'ssh-rsa') preferred.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else if (ALL_HOST_KEY_ALGOS.includes(t)) preferred.push(t);
  }
  return [...new Set([...preferred, ...ALL_HOST_KEY_ALGOS])];
}

/** A deadline that stops counting while someone is being asked something. */
class PausableDeadline {
  private remaining: number;
  private started = 0;
  private timer: NodeJS.Timeout | null = null;
  private paused = 0;
  constructor(
    ms: number,
    private readonly onExpire: () => void,
  ) {
    this.remaining = ms;
    this.resume(true);
  }
  private resume(first = false) {
    if (!first && --this.paused > 0) return;
    this.started = Date.now();
    this.timer = setTimeout(this.onExpire, Math.max(0, this.remaining));
  }
  async during<T>(p: () => Promise<T>): Promise<T> {
    if (this.paused++ === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.remaining -= Date.now() - this.started;
    }
    try {
      return await p();
    } finally {
      this.resume();
    }
  }
  clear() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.paused = Number.POSITIVE_INFINITY;
  }
}

// Two connections to the same unknown host (a probe and a launch, or a node and its jump host)
// share one question rather than opening two dialogs.
const pendingTrust = new Map<string, Promise<Answer>>();

/** A host key a connection was verified with: known_hosts must go on vouching for it. */
export interface VerifiedHostKey {
  host: string;
  port: number;
  keyType: string;
  keyBase64: string;
}

async function verifyHostKey(
  hop: Hop,
  blob: Buffer,
  opts: ConnectOptions,
  deadline: PausableDeadline,
): Promise<VerifiedHostKey> {
  const keyType = keyTypeOfBlob(blob);
  const b64 = blob.toString('base64');
  const fingerprint = fingerprintOfBlob(blob);
  const key = { host: hop.host, port: hop.port, label: hop.label, keyType, fingerprint };
  const verified = { host: hop.host, port: hop.port, keyType, keyBase64: b64 };
  const check = checkHostKey(readKnownHosts(opts.knownHostsFile), hop.host, hop.port, keyType, b64);
  if (check.status === 'known') return verified;
  if (check.status === 'revoked') {
    throw new SshError(
      'hostkey-revoked',
      `${hop.label} (${hostKeyName(hop.host, hop.port)}) presented a revoked ${keyType} key ${fingerprint} (${opts.knownHostsFile}:${check.entry.line}); refusing to connect`,
    );
  }
  if (check.status === 'changed') {
    const knownFingerprints = check.known.map((e) => `${e.keyType} ${fingerprintOfBase64(e.key)}`);
    opts.asker.tell({
      kind: 'hostkey-changed',
      key,
      knownFingerprints,
      knownHostsFile: opts.knownHostsFile,
    });
    throw new SshError(
      'hostkey-changed',
      [
        `WARNING: the host key of ${hop.label} (${hostKeyName(hop.host, hop.port)}) has changed; refusing to connect.`,
        `  presented: ${keyType} ${fingerprint}`,
        `  on file:   ${knownFingerprints.join('; ')} (${opts.knownHostsFile}, line ${check.known.map((e) => e.line).join(', ')})`,
        `Someone could be intercepting the connection, or the host was reinstalled. If the change is expected, check the new`,
        `fingerprint with the host's owner and remove the old entry: ssh-keygen -f ${opts.knownHostsFile} -R '${hostKeyName(hop.host, hop.port)}'`,
      ].join('\n'),
    );
  }
  const trustKey = `${opts.knownHostsFile}\0${hostKeyName(hop.host, hop.port)}\0${b64}`;
  let pending = pendingTrust.get(trustKey);
  if (!pending) {
    pending = opts.asker.ask({ kind: 'hostkey-unknown', key }, opts.signal);
    pendingTrust.set(trustKey, pending);
    pending.finally(() => pendingTrust.delete(trustKey)).catch(() => undefined);
  }
  let answer: Answer;
  try {
    answer = await deadline.during(() => pending!);
  } catch (e) {
    const why = e instanceof NoOneToAsk ? e.message : (e as Error).message;
    throw new SshError(
      'hostkey-unknown',
      `The host key of ${hop.label} (${hostKeyName(hop.host, hop.port)}) is not known: ${keyType} ${fingerprint}.\n` +
        `Refusing to connect: ${why}. Check the fingerprint with the host's owner, then connect once interactively to trust it.`,
    );
  }
  if (!answer.accept) {
    throw new SshError(
      'hostkey-unknown',
      `The host key of ${hop.label} (${hostKeyName(hop.host, hop.port)}, ${keyType} ${fingerprint}) was not trusted; not connecting.`,
    );
  }
  // Another connection may have accepted the same key while we waited.
  if (
    checkHostKey(readKnownHosts(opts.knownHostsFile), hop.host, hop.port, keyType, b64).status !==
    'known'
  ) {
    appendKnownHost(opts.knownHostsFile, hop.host, hop.port, keyType, b64);
  }
  return verified;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

function defaultIdentityFiles(): string[] {
  return DEFAULT_KEYS.map((k) => path.join(os.homedir(), '.ssh', k)).filter((f) =>
    fs.existsSync(f),
  );
}

/** Auth attempts in order, produced lazily so passphrases and passwords are asked only when needed. */
function makeAuth(hop: Hop, opts: ConnectOptions, deadline: PausableDeadline, tried: string[]) {
  const agent = opts.agent === undefined ? process.env.SSH_AUTH_SOCK : opts.agent;
  const keyFiles = hop.identityFiles.length > 0 ? hop.identityFiles : defaultIdentityFiles();
  let agentTried = false;
  let keyIndex = 0;
  let kbdTries = 0;
  let pwTries = 0;
  const ask = (q: Question) => deadline.during(() => opts.asker.ask(q, opts.signal));

  async function loadKey(file: string): Promise<{ key: Buffer; passphrase?: string } | null> {
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch {
      return null;
    }
    let parsed = utils.parseKey(data);
    if (!(parsed instanceof Error)) return { key: data };
    if (!/passphrase/i.test(parsed.message)) return null;
    for (let attempt = 0; attempt < 3; attempt++) {
      let answer: Answer;
      try {
        answer = await ask({ kind: 'passphrase', node: hop.label, keyFile: file });
      } catch {
        return null; // nobody to ask: skip this key, try the next method
      }
      const passphrase = answer.values?.[0];
      if (passphrase === undefined) return null;
      parsed = utils.parseKey(data, passphrase);
      if (!(parsed instanceof Error)) return { key: data, passphrase };
    }
    return null;
  }

  return async (
    methodsLeft: AuthenticationType[] | null,
  ): Promise<Record<string, unknown> | false> => {
    const allowed = (m: AuthenticationType) => methodsLeft === null || methodsLeft.includes(m);
    const username = hop.user;
    if (!agentTried) {
      agentTried = true;
      if (agent && allowed('publickey') && fs.existsSync(agent)) {
        tried.push('agent');
        return { type: 'agent', username, agent };
      }
    }
    while (keyIndex < keyFiles.length && allowed('publickey')) {
      const file = keyFiles[keyIndex++];
      const loaded = await loadKey(file);
      if (loaded) {
        tried.push(`key ${file}`);
        return {
          type: 'publickey',
          username,
          key: loaded.key,
          ...(loaded.passphrase !== undefined ? { passphrase: loaded.passphrase } : {}),
        };
      }
    }
    // Nothing offered yet: a "none" attempt makes the server list the methods it accepts, so
    // passwords and keyboard-interactive are asked only where the server wants them.
    if (methodsLeft === null) return { type: 'none', username };
    if (allowed('keyboard-interactive') && kbdTries < 3) {
      kbdTries++;
      tried.push('keyboard-interactive');
      return {
        type: 'keyboard-interactive',
        username,
        prompt: (
          name: string,
          instructions: string,
          _lang: string,
          prompts: { prompt: string; echo?: boolean }[],
          finish: (answers: string[]) => void,
        ) => {
          if (prompts.length === 0) return finish([]);
          ask({
            kind: 'keyboard-interactive',
            node: hop.label,
            name,
            instructions,
            prompts: prompts.map((p) => ({ prompt: p.prompt, echo: p.echo === true })),
          }).then(
            (a) => finish(a.values ?? []),
            () => finish([]),
          );
        },
      };
    }
    if (allowed('password') && pwTries < 3) {
      pwTries++;
      try {
        const a = await ask({ kind: 'password', node: hop.label, user: username });
        if (a.values?.[0] !== undefined) {
          tried.push('password');
          return { type: 'password', username, password: a.values[0] };
        }
      } catch {
        /* nobody to ask */
      }
    }
    return false;
  };
}

function connectHop(
  hop: Hop,
  sock: NodeJS.ReadableStream | undefined,
  opts: ConnectOptions,
): Promise<{ client: Client; hostKey: VerifiedHostKey }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let hostKey: VerifiedHostKey | null = null;
    let failure: Error | null = null;
    let settled = false;
    const tried: string[] = [];
    const where = `${hop.label} (${hop.user}@${hostKeyName(hop.host, hop.port)})`;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      deadline.clear();
      opts.signal?.removeEventListener('abort', onAbort);
      client.end();
      client.destroy();
      proxy?.stop();
      reject(e);
    };
    let proxy: ProxyProcess | null = null;
    if (hop.proxyCommand) {
      proxy = startProxyCommand(hop.proxyCommand);
      sock = proxy.sock;
      // The program lives as long as the connection it carries.
      client.once('close', () => proxy?.stop());
    }
    /** A setup failure while a ProxyCommand carries the connection is usually the program's. */
    const failVia = (e: SshError) => {
      if (!proxy || failure) return fail(failure ?? e);
      const timeout = new Promise<null>((r) => setTimeout(() => r(null), 1000).unref());
      void Promise.race([proxy.ended, timeout]).then((how) =>
        fail(how ? new SshError('network', `${where}: the ProxyCommand ${how}`) : e),
      );
    };
    const deadline = new PausableDeadline(opts.timeoutMs ?? 20_000, () =>
      fail(new SshError('timeout', `${where}: timed out connecting`)),
    );
    const onAbort = () => fail(new SshError('closed', `${where}: cancelled`));
    opts.signal?.addEventListener('abort', onAbort);
    const next = makeAuth(hop, opts, deadline, tried);
    client.on('ready', () => {
      if (settled) return;
      if (!hostKey)
        return fail(new SshError('network', `${where}: ready before its host key was verified`));
      settled = true;
      deadline.clear();
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ client, hostKey });
    });
    client.on('error', (e: Error & { level?: string; code?: string }) => {
      if (failure) return fail(failure);
      if (e.level === 'client-authentication') {
        return fail(
          new SshError(
            'auth',
            `${where}: permission denied${tried.length ? ` (tried ${tried.join(', ')})` : ' (no key, agent or password to offer)'}`,
          ),
        );
      }
      if (e.level === 'client-timeout') return fail(new SshError('timeout', `${where}: timed out`));
      failVia(
        new SshError(
          'network',
          `${where}: ${e.code === 'ECONNREFUSED' ? 'connection refused' : e.message}`,
        ),
      );
    });
    client.on('close', () =>
      failVia(new SshError('closed', `${where}: connection closed during setup`)),
    );
    const knownTypes = knownKeyTypes(readKnownHosts(opts.knownHostsFile), hop.host, hop.port);
    client.connect({
      host: hop.host,
      port: hop.port,
      username: hop.user,
      ...(sock ? { sock: sock as never } : {}),
      // ssh2's own ready timeout cannot pause while a person answers; PausableDeadline does.
      readyTimeout: 0,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: hostKeyAlgorithms(knownTypes) as never },
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        verifyHostKey(hop, key, opts, deadline).then(
          (k) => {
            hostKey = k;
            verify(true);
          },
          (e: Error) => {
            failure = e;
            verify(false);
          },
        );
      },
      authHandler: (methodsLeft, _partial, cb) => {
        next(methodsLeft as AuthenticationType[] | null).then(
          (m) => cb(m as never),
          (e: Error) => {
            failure = e;
            cb(false as never);
          },
        );
      },
    });
  });
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface RunningCommand {
  /** Output as it arrives (the whole output is in `done` too). */
  onStdout(cb: (chunk: string) => void): void;
  done: Promise<ExecResult>;
}

/** What the host does on a node, local or remote: the runs and provisioning code use only this. */
export interface NodeChannel {
  readonly label: string;
  /** Run a command through the node's shell; resolves when it ends, whatever its exit code. */
  start(command: string, opts?: { stdin?: string }): RunningCommand;
  exec(command: string, opts?: { stdin?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** Up to `max` bytes from `offset`; null when the file does not exist. */
  readFrom(file: string, offset: number, max: number): Promise<Buffer | null>;
  /** Write via a temp file and rename: a reader never sees half a file. */
  writeFileAtomic(file: string, data: string | Buffer): Promise<void>;
  upload(
    localFile: string,
    remoteFile: string,
    onProgress?: (done: number, total: number) => void,
  ): Promise<void>;
  readonly closed: boolean;
  onClose(cb: () => void): void;
  close(): void;
}

/** Re-checks verified keys against known_hosts, reading the file again only when it has changed. */
class HostKeyWitness {
  private stamp: string | null;

  constructor(
    private readonly file: string,
    private readonly keys: VerifiedHostKey[],
  ) {
    this.stamp = this.fileStamp();
  }

  private fileStamp(): string | null {
    try {
      const st = fs.statSync(this.file);
      return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch {
      return null;
    }
  }

  stillTrusted(): boolean {
    const stamp = this.fileStamp();
    if (stamp !== null && stamp === this.stamp) return true;
    const entries = readKnownHosts(this.file);
    const ok = this.keys.every(
      (k) => checkHostKey(entries, k.host, k.port, k.keyType, k.keyBase64).status === 'known',
    );
    this.stamp = ok ? stamp : null;
    return ok;
  }
}

export class SshConnection implements NodeChannel {
  private sftpP: Promise<SFTPWrapper> | null = null;
  private closeCbs: (() => void)[] = [];
  private isClosed = false;

  constructor(
    readonly label: string,
    private readonly clients: Client[],
    private readonly hostKeys: HostKeyWitness,
  ) {
    // Any hop closing ends the chain: the inner connections ride on it.
    for (const c of clients) {
      c.on('close', () => this.markClosed());
      c.on('error', () => this.markClosed());
    }
  }

  get closed() {
    return this.isClosed;
  }

  /**
   * Whether known_hosts still vouches for every hop's key this connection was verified with. A
   * pooled connection outlives the moment it was checked; if the user has since removed, changed or
   * revoked an entry, it must not be reused.
   */
  stillTrusted(): boolean {
    return this.hostKeys.stillTrusted();
  }

  private markClosed() {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const c of this.clients) c.end();
    for (const cb of this.closeCbs.splice(0)) cb();
  }

  onClose(cb: () => void) {
    if (this.isClosed) cb();
    else this.closeCbs.push(cb);
  }

  close() {
    for (const c of [...this.clients].reverse()) c.end();
    this.markClosed();
  }

  private get client(): Client {
    return this.clients[this.clients.length - 1];
  }

  start(command: string, opts: { stdin?: string } = {}): RunningCommand {
    let onOut: ((chunk: string) => void) | null = null;
    const done = new Promise<ExecResult>((resolve, reject) => {
      if (this.isClosed) return reject(new SshError('closed', `${this.label}: connection closed`));
      this.client.exec(command, (err, stream: ClientChannel) => {
        if (err) return reject(new SshError('closed', `${this.label}: ${err.message}`));
        const out: Buffer[] = [];
        const errs: Buffer[] = [];
        let code: number | null = null;
        let signal: string | null = null;
        stream.on('data', (d: Buffer) => {
          out.push(d);
          onOut?.(d.toString('utf8'));
        });
        stream.stderr.on('data', (d: Buffer) => errs.push(d));
        stream.on('exit', (c: number | null, s?: string) => {
          code = c;
          signal = s ?? null;
        });
        stream.on('close', () =>
          resolve({
            code,
            signal,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(errs).toString('utf8'),
          }),
        );
        if (opts.stdin !== undefined) stream.end(opts.stdin);
        else stream.end();
      });
    });
    return { done, onStdout: (cb) => (onOut = cb) };
  }

  exec(command: string, opts: { stdin?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    const run = this.start(command, opts).done;
    if (!opts.timeoutMs) return run;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // A hung channel usually means a dead link: drop the connection so it is redialled.
        this.close();
        reject(
          new SshError('timeout', `${this.label}: command timed out after ${opts.timeoutMs} ms`),
        );
      }, opts.timeoutMs);
    });
    return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
  }

  /** An interactive shell with a pty (the Terminals area's node shells). */
  shell(opts: { term: string; cols: number; rows: number }): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      if (this.isClosed) return reject(new SshError('closed', `${this.label}: connection closed`));
      this.client.shell({ term: opts.term, cols: opts.cols, rows: opts.rows }, (err, ch) =>
        err ? reject(new SshError('closed', `${this.label}: ${err.message}`)) : resolve(ch),
      );
    });
  }

  private sftp(): Promise<SFTPWrapper> {
    if (!this.sftpP) {
      this.sftpP = new Promise<SFTPWrapper>((resolve, reject) => {
        this.client.sftp((err, s) => (err ? reject(err) : resolve(s)));
      });
      this.sftpP.catch(() => (this.sftpP = null));
    }
    return this.sftpP;
  }

  async readFrom(file: string, offset: number, max: number): Promise<Buffer | null> {
    const sftp = await this.sftp();
    const handle = await new Promise<Buffer | null>((resolve, reject) =>
      sftp.open(file, 'r', (err, h) =>
        err ? ((err as { code?: number }).code === 2 ? resolve(null) : reject(err)) : resolve(h),
      ),
    );
    if (!handle) return null;
    try {
      const chunks: Buffer[] = [];
      let pos = offset;
      let left = max;
      while (left > 0) {
        const n = Math.min(left, 64 * 1024);
        const buf = Buffer.alloc(n);
        const got = await new Promise<number>((resolve, reject) =>
          sftp.read(handle, buf, 0, n, pos, (err, bytesRead) => {
            // ssh2 reports end of file as an error with code 1 (SSH_FX_EOF).
            if (err) return (err as { code?: number }).code === 1 ? resolve(0) : reject(err);
            resolve(bytesRead);
          }),
        );
        if (got <= 0) break;
        chunks.push(buf.subarray(0, got));
        pos += got;
        left -= got;
        if (got < n) break;
      }
      return Buffer.concat(chunks);
    } finally {
      sftp.close(handle, () => undefined);
    }
  }

  async writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
    const sftp = await this.sftp();
    const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(tmp, data, (err) => (err ? reject(err) : resolve())),
    );
    await new Promise<void>((resolve, reject) =>
      sftp.ext_openssh_rename(tmp, file, (err) => (err ? reject(err) : resolve())),
    );
  }

  async upload(
    localFile: string,
    remoteFile: string,
    onProgress?: (done: number, total: number) => void,
  ): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) =>
      sftp.fastPut(
        localFile,
        remoteFile,
        { step: (done, _chunk, total) => onProgress?.(done, total) },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
}

/** Connect through every hop in order; the last hop is the node itself. */
export async function connectChain(hops: Hop[], opts: ConnectOptions): Promise<SshConnection> {
  if (hops.length === 0) throw new Error('no hops to connect');
  // ssh runs a ProxyCommand on this computer, so it can only carry the first hop.
  const behind = hops.slice(1).find((h) => h.proxyCommand);
  if (behind)
    throw new SshError(
      'network',
      `${behind.label}: its ProxyCommand can only reach the first hop, not one behind a jump host`,
    );
  const clients: Client[] = [];
  const hostKeys: VerifiedHostKey[] = [];
  try {
    let sock: NodeJS.ReadableStream | undefined;
    for (const [i, hop] of hops.entries()) {
      const { client, hostKey } = await connectHop(hop, sock, opts);
      clients.push(client);
      hostKeys.push(hostKey);
      if (i < hops.length - 1) {
        const nextHop = hops[i + 1];
        sock = await new Promise<ClientChannel>((resolve, reject) =>
          client.forwardOut('127.0.0.1', 0, nextHop.host, nextHop.port, (err, ch) =>
            err
              ? reject(
                  new SshError(
                    'network',
                    `${hop.label} cannot reach ${nextHop.label} (${hostKeyName(nextHop.host, nextHop.port)}): ${err.message}`,
                  ),
                )
              : resolve(ch),
          ),
        );
      }
    }
  } catch (e) {
    for (const c of clients.reverse()) c.end();
    throw e;
  }
  return new SshConnection(
    hops[hops.length - 1].label,
    clients,
    new HostKeyWitness(opts.knownHostsFile, hostKeys),
  );
}
