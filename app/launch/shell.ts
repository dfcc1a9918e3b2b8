// POSIX shell quoting for the commands the host runs on nodes. Every value that reaches a remote
// shell (paths, env values, config-derived names) goes through shq, so a run name or workdir can
// never inject a command.

const SAFE = /^[A-Za-z0-9_\-.,:/=@+%^]+$/;

/** Quote one word for sh. Plain words stay readable; anything else is single-quoted. */
export function shq(word: string): string {
  if (word !== '' && SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Quote and join argv into one command line. */
export function shJoin(argv: readonly string[]): string {
  return argv.map(shq).join(' ');
}

/** A valid environment variable name (what `export NAME=…` accepts). */
export function isEnvName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/** `export A=1 B=2` lines for a script, in a stable order. */
export function exportLines(env: Record<string, string>): string[] {
  return Object.keys(env)
    .sort()
    .map((k) => {
      if (!isEnvName(k))
        throw new Error(`not a valid environment variable name: ${JSON.stringify(k)}`);
      return `export ${k}=${shq(env[k])}`;
    });
}

/** Expand a leading "~" against a node's home directory (the remote shell never sees "~"). */
export function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return home.replace(/\/+$/, '') + p.slice(1);
  return p;
}

/** Join POSIX path parts (the nodes are Linux whatever this computer is). */
export function posixJoin(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  return joined.replace(/\/{2,}/g, '/');
}
