// Test fixture: real OpenSSH servers with throw-away host keys, a throw-away client key,
// authorized_keys, known_hosts and ssh config, all in a temp dir. Nothing here reads or writes
// the user's own ~/.ssh. sshd runs as root (it must, to log users in) with StrictModes and PAM off.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fingerprintOfBase64 } from '../ssh/known-hosts';

export const SSHD = '/usr/sbin/sshd';

export interface SshWorld {
  dir: string;
  /** Unencrypted client key (authorized on every sshd of this world). */
  clientKey: string;
  /** The same kind of key, encrypted with `passphrase`, also authorized. */
  encryptedKey: string;
  passphrase: string;
  knownHosts: string;
  sshConfig: string;
  /** HOME of the sessions every sshd of this world starts (an empty dir: no shell start-up files). */
  nodeHome: string;
  /** Environment for host processes of this world: its known_hosts and ssh config, a data dir, no agent. */
  env: Record<string, string>;
  /** Append an sshd's host key to this world's known_hosts, as a user who trusted it would have. */
  trust(server: Sshd, opts?: { hashed?: boolean }): void;
  cleanup(): Promise<void>;
}

export interface HostKey {
  type: string;
  base64: string;
  fingerprint: string;
}

export interface Sshd {
  name: string;
  /** Where clients connect (a loopback forwarder for servers inside a namespace). */
  host: string;
  port: number;
  hostKey(): HostKey;
  /** Replace the host key (the server restarts): what a reinstalled or impersonated host looks like. */
  rotateHostKey(): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

function keygen(file: string, passphrase = '') {
  execFileSync(
    'ssh-keygen',
    ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'spindle-test', '-f', file],
    { stdio: 'ignore' },
  );
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export function makeSshWorld(): SshWorld {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-ssh-'));
  const clientKey = path.join(dir, 'id_client');
  const encryptedKey = path.join(dir, 'id_encrypted');
  const passphrase = 'correct horse battery';
  keygen(clientKey);
  keygen(encryptedKey, passphrase);
  fs.writeFileSync(
    path.join(dir, 'authorized_keys'),
    fs.readFileSync(`${clientKey}.pub`, 'utf8') + fs.readFileSync(`${encryptedKey}.pub`, 'utf8'),
  );
  const knownHosts = path.join(dir, 'known_hosts');
  const sshConfig = path.join(dir, 'ssh_config');
  fs.writeFileSync(knownHosts, '');
  fs.writeFileSync(sshConfig, '');
  const home = path.join(dir, 'spindle-home');
  fs.mkdirSync(home);
  const nodeHome = path.join(dir, 'node-home');
  fs.mkdirSync(nodeHome);
  return {
    dir,
    nodeHome,
    clientKey,
    encryptedKey,
    passphrase,
    knownHosts,
    sshConfig,
    env: {
      SPINDLE_KNOWN_HOSTS: knownHosts,
      SPINDLE_SSH_CONFIG: sshConfig,
      SPINDLE_HOME: home,
      SSH_AUTH_SOCK: '',
    },
    trust(server, opts = {}) {
      const k = server.hostKey();
      const name = server.port === 22 ? server.host : `[${server.host}]:${server.port}`;
      let field = name;
      if (opts.hashed) {
        const salt = crypto.randomBytes(20);
        field = `|1|${salt.toString('base64')}|${crypto.createHmac('sha1', salt).update(name).digest('base64')}`;
      }
      fs.appendFileSync(knownHosts, `${field} ${k.type} ${k.base64}\n`);
    },
    async cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SshdOptions {
  name: string;
  /** Run inside this network namespace (ip netns exec). */
  netns?: string;
  /** Address sshd listens on (default 127.0.0.1). */
  listen?: string;
  port?: number;
}

/** Start sshd and resolve once it logs that it listens. */
export async function startSshd(world: SshWorld, opts: SshdOptions): Promise<Sshd> {
  // sshd refuses to start without its privilege-separation directory (the package's service
  // unit normally creates it).
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = fs.mkdtempSync(path.join(world.dir, `sshd-${opts.name}-`));
  const hostKeyFile = path.join(dir, 'host_ed25519');
  keygen(hostKeyFile);
  const listen = opts.listen ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(listen));
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      `ListenAddress ${listen}`,
      `HostKey ${hostKeyFile}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(world.dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PermitRootLogin yes',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'AllowTcpForwarding yes',
      'Subsystem sftp internal-sftp',
      'MaxStartups 100',
      'MaxSessions 100',
      'LogLevel VERBOSE',
      // A node as a GPU node is set up: its `python3` has torch (here the environment the suite
      // runs with; npm test sets SPINDLE_PYTHON), and its shell start-up files are its own (an
      // empty home in the world), not this machine's, which would put another python3 first.
      `SetEnv HOME=${world.nodeHome}${
        process.env.SPINDLE_PYTHON
          ? ` PATH=${path.dirname(process.env.SPINDLE_PYTHON)}:/usr/local/bin:/usr/bin:/bin`
          : ''
      }`,
      '',
    ].join('\n'),
  );
  let log = '';
  let child: ChildProcess | null = null;
  const launch = async () => {
    const argv = [SSHD, '-D', '-e', '-f', config];
    child = opts.netns
      ? spawn('ip', ['netns', 'exec', opts.netns, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    const c = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`sshd ${opts.name} did not start:\n${log}`)),
        15_000,
      );
      c.stderr!.on('data', (d) => {
        log += String(d);
        if (/Server listening on/.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd ${opts.name} exited (${code}):\n${log}`));
      });
    });
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 5000).unref();
    });
  };
  await launch();
  return {
    name: opts.name,
    host: listen,
    port,
    hostKey() {
      const [type, base64] = fs.readFileSync(`${hostKeyFile}.pub`, 'utf8').trim().split(/\s+/);
      return { type, base64, fingerprint: fingerprintOfBase64(base64) };
    },
    async rotateHostKey() {
      await stop();
      fs.rmSync(hostKeyFile);
      fs.rmSync(`${hostKeyFile}.pub`);
      keygen(hostKeyFile);
      log = '';
      await launch();
    },
    log: () => log,
    stop,
  };
}
