// OpenSSH client config (~/.ssh/config): the subset a node needs — Host, HostName, User, Port,
// IdentityFile, ProxyJump, ProxyCommand, plus Include. Semantics follow ssh_config(5): for each
// keyword the first value obtained wins, IdentityFile accumulates, Host patterns take * ? and
// !negation, and of ProxyJump and ProxyCommand whichever comes first wins. Match blocks are
// skipped (their conditions need a live connection to evaluate).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SshConfigBlock {
  /** Host patterns; null for lines before the first Host (they apply to every host). */
  patterns: string[] | null;
  /** A Match block: never applied here. */
  match: boolean;
  options: { key: string; value: string }[];
}

export interface ResolvedHost {
  alias: string;
  hostName: string;
  port: number;
  user?: string;
  identityFiles: string[];
  /** Raw ProxyJump value ("none" is returned as undefined). */
  proxyJump?: string;
  /** Raw ProxyCommand, tokens unexpanded (see proxyCommandFor); "none" is returned as undefined. */
  proxyCommand?: string;
}

/** Split one config line into keyword and value ("Key value", "Key=value", quoted values). */
function splitLine(line: string): { key: string; value: string } | null {
  const m = /^\s*([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+)(.*?)\s*$/.exec(line);
  if (!m) return null;
  let value = m[2];
  // A ProxyCommand is the rest of the line, handed to the shell as written (quotes included).
  if (value.startsWith('"') && m[1].toLowerCase() !== 'proxycommand') {
    const end = value.indexOf('"', 1);
    value = end > 0 ? value.slice(1, end) : value.slice(1);
  }
  return { key: m[1].toLowerCase(), value };
}

function splitWords(value: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value))) out.push(m[1] ?? m[2]);
  return out;
}

export interface ParseOptions {
  /** Folder relative Include paths resolve against (OpenSSH: ~/.ssh for the user's config). */
  baseDir?: string;
  /** Include depth guard. */
  depth?: number;
}

export function parseSshConfig(text: string, opts: ParseOptions = {}): SshConfigBlock[] {
  const blocks: SshConfigBlock[] = [{ patterns: null, match: false, options: [] }];
  const depth = opts.depth ?? 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const kv = splitLine(line);
    if (!kv) continue;
    if (kv.key === 'host') {
      blocks.push({ patterns: splitWords(kv.value), match: false, options: [] });
    } else if (kv.key === 'match') {
      blocks.push({ patterns: [], match: true, options: [] });
    } else if (kv.key === 'include') {
      if (depth >= 8) continue;
      for (const file of expandInclude(kv.value, opts.baseDir ?? path.join(os.homedir(), '.ssh'))) {
        let sub: string;
        try {
          sub = fs.readFileSync(file, 'utf8');
        } catch {
          continue;
        }
        const current = blocks[blocks.length - 1];
        const included = parseSshConfig(sub, { ...opts, depth: depth + 1 });
        // Lines before the included file's first Host belong to the block the Include sits in.
        current.options.push(...included[0].options);
        blocks.push(...included.slice(1));
        // Lines after the Include continue the enclosing block, as far as precedence goes.
        if (included.length > 1)
          blocks.push({ patterns: current.patterns, match: current.match, options: [] });
      }
    } else {
      blocks[blocks.length - 1].options.push(kv);
    }
  }
  return blocks;
}

function expandInclude(value: string, baseDir: string): string[] {
  const out: string[] = [];
  for (const word of splitWords(value)) {
    const p = expandTilde(word);
    const abs = path.isAbsolute(p) ? p : path.join(baseDir, p);
    if (!/[*?]/.test(path.basename(abs))) {
      out.push(abs);
      continue;
    }
    const dir = path.dirname(abs);
    const re = patternRegExp(path.basename(abs));
    try {
      for (const f of fs.readdirSync(dir).sort()) if (re.test(f)) out.push(path.join(dir, f));
    } catch {
      /* a missing Include folder is not an error, as in ssh */
    }
  }
  return out;
}

function patternRegExp(pattern: string): RegExp {
  return new RegExp(
    '^' +
      pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  );
}

/** Whether a Host line's patterns select `alias` (any positive match, no negated match). */
export function hostPatternsMatch(patterns: string[], alias: string): boolean {
  let hit = false;
  for (const p of patterns) {
    const negated = p.startsWith('!');
    const re = patternRegExp(negated ? p.slice(1) : p);
    if (re.test(alias)) {
      if (negated) return false;
      hit = true;
    }
  }
  return hit;
}

export function expandTilde(p: string, home = os.homedir()): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

/** %h %p %r %u %d %% tokens (the ones that make sense without a connection). */
function expandTokens(value: string, t: { h: string; p: number; r?: string }): string {
  return value.replace(/%([%hpdru])/g, (_, c: string) => {
    if (c === '%') return '%';
    if (c === 'h') return t.h;
    if (c === 'p') return String(t.p);
    if (c === 'r') return t.r ?? os.userInfo().username;
    if (c === 'u') return os.userInfo().username;
    return os.homedir();
  });
}

/** What ssh would use for `ssh alias`. */
export function resolveSshHost(blocks: SshConfigBlock[], alias: string): ResolvedHost {
  const first = new Map<string, string>();
  const identityFiles: string[] = [];
  // ProxyJump and ProxyCommand compete: whichever is obtained first prevents the other.
  let proxy: 'proxyjump' | 'proxycommand' | null = null;
  for (const b of blocks) {
    if (b.match) continue;
    if (b.patterns !== null && !hostPatternsMatch(b.patterns, alias)) continue;
    for (const { key, value } of b.options) {
      if (key === 'identityfile') identityFiles.push(value);
      else if (key === 'proxyjump' || key === 'proxycommand') {
        if (proxy === null) {
          proxy = key;
          first.set(key, value);
        }
      } else if (!first.has(key)) first.set(key, value);
    }
  }
  const hostName = expandTokens(first.get('hostname') ?? alias, { h: alias, p: 22 });
  const portRaw = first.get('port');
  const port = portRaw !== undefined && /^\d+$/.test(portRaw) ? Number(portRaw) : 22;
  const user = first.get('user');
  const jump = first.get('proxyjump');
  const command = first.get('proxycommand');
  return {
    alias,
    hostName,
    port,
    ...(user ? { user } : {}),
    identityFiles: identityFiles.map((f) =>
      expandTilde(expandTokens(f, { h: hostName, p: port, r: user })),
    ),
    ...(jump && jump.toLowerCase() !== 'none' ? { proxyJump: jump } : {}),
    ...(command && command.toLowerCase() !== 'none' ? { proxyCommand: command } : {}),
  };
}

/**
 * A ProxyCommand with its tokens expanded, as ssh runs it for this hop: %h host, %p port, %r
 * remote user, %n the name as given, %u local user, %d home, %%. Other tokens need a live
 * connection or state this host does not keep; they are refused rather than passed on literally.
 */
export function proxyCommandFor(
  command: string,
  t: { alias: string; host: string; port: number; user: string },
): string {
  return command.replace(/%(.)/g, (all, c: string) => {
    if (c === '%') return '%';
    if (c === 'h') return t.host;
    if (c === 'p') return String(t.port);
    if (c === 'r') return t.user;
    if (c === 'n') return t.alias;
    if (c === 'u') return os.userInfo().username;
    if (c === 'd') return os.homedir();
    throw new Error(
      `ProxyCommand of ${t.alias}: the token ${all} is not supported (supported: %h %p %r %n %u %d %%)`,
    );
  });
}

/** Concrete aliases (Host names without wildcards or negation), in file order. */
export function listSshAliases(blocks: SshConfigBlock[]): string[] {
  const seen = new Set<string>();
  for (const b of blocks) {
    if (b.match || !b.patterns) continue;
    for (const p of b.patterns) if (!/[*?!]/.test(p)) seen.add(p);
  }
  return [...seen];
}

export function readSshConfig(file: string): SshConfigBlock[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return parseSshConfig(text, { baseDir: path.dirname(file) });
}

/** The ssh config and known_hosts this host uses; env overrides keep tests off the user's files. */
export function sshPaths(): { config: string; knownHosts: string } {
  return {
    config: process.env.SPINDLE_SSH_CONFIG
      ? path.resolve(process.env.SPINDLE_SSH_CONFIG)
      : path.join(os.homedir(), '.ssh', 'config'),
    knownHosts: process.env.SPINDLE_KNOWN_HOSTS
      ? path.resolve(process.env.SPINDLE_KNOWN_HOSTS)
      : path.join(os.homedir(), '.ssh', 'known_hosts'),
  };
}
