// From a node (or a ProxyJump name) to the chain of hops to dial: the node list first, then the
// ssh config, then a literal [user@]host[:port]. Mirrors what `ssh` would do for the same names.
import os from 'node:os';
import type { NodeSpec } from '../../app/protocol/nodes';
import type { Hop } from '../ssh/connection';
import {
  expandTilde,
  listSshAliases,
  proxyCommandFor,
  resolveSshHost,
  type ResolvedHost,
  type SshConfigBlock,
} from '../ssh/ssh-config';

export interface ResolveContext {
  findNode(name: string): NodeSpec | undefined;
  sshConfig: SshConfigBlock[];
}

const localUser = () => os.userInfo().username;

/** Parse "[ssh://][user@]host[:port]" and "[user@][v6]:port". */
export function parseJumpSpec(s: string): { user?: string; host: string; port?: number } {
  let rest = s.replace(/^ssh:\/\//, '');
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let host = rest;
  let port: number | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (v6) {
    host = v6[1];
    port = v6[2] ? Number(v6[2]) : undefined;
  } else {
    const m = /^([^:]+):(\d+)$/.exec(rest);
    if (m) {
      host = m[1];
      port = Number(m[2]);
    }
  }
  return { ...(user ? { user } : {}), host, ...(port ? { port } : {}) };
}

function jumpsOf(value: string | undefined, ctx: ResolveContext, depth: number): Hop[] {
  if (!value) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .flatMap((name) => hopsForName(name, ctx, depth + 1));
}

/**
 * A hop, preceded by its jump hosts or carrying its ProxyCommand. An explicit jump (a node's own
 * ProxyJump, like `ssh -J`) wins over the config; in the config the first of the two wins.
 */
function withProxy(
  hop: Hop,
  r: ResolvedHost,
  explicitJump: string | undefined,
  ctx: ResolveContext,
  depth: number,
): Hop[] {
  if (explicitJump) return [...jumpsOf(explicitJump, ctx, depth), hop];
  if (r.proxyCommand) {
    const proxyCommand = proxyCommandFor(r.proxyCommand, {
      alias: r.alias,
      host: hop.host,
      port: hop.port,
      user: hop.user,
    });
    return [{ ...hop, proxyCommand }];
  }
  return [...jumpsOf(r.proxyJump, ctx, depth), hop];
}

function hopsForName(name: string, ctx: ResolveContext, depth: number): Hop[] {
  if (depth > 6) throw new Error(`ProxyJump chain too deep at ${name} (a loop?)`);
  const node = ctx.findNode(name);
  if (node) return hopsForSpec(node, ctx, depth);
  const parsed = parseJumpSpec(name);
  const aliases = listSshAliases(ctx.sshConfig);
  // An ssh-config alias (or a literal host the config has defaults for) resolves through the config.
  const r = resolveSshHost(ctx.sshConfig, parsed.host);
  const known = aliases.includes(parsed.host);
  const hop: Hop = {
    label: name,
    host: known ? r.hostName : parsed.host,
    port: parsed.port ?? r.port,
    user: parsed.user ?? r.user ?? localUser(),
    identityFiles: r.identityFiles.filter((f) => f !== ''),
  };
  return withProxy(hop, r, undefined, ctx, depth);
}

/** The hops to reach a node, jump hosts first, the node itself last. */
export function hopsForSpec(spec: NodeSpec, ctx: ResolveContext, depth = 0): Hop[] {
  // A node's host may itself be an ssh-config alias: the config fills what the node leaves open.
  const r = resolveSshHost(ctx.sshConfig, spec.host);
  const identityFiles = spec.identityFile ? [expandTilde(spec.identityFile)] : r.identityFiles;
  const port = spec.port !== 22 ? spec.port : r.port;
  const hop: Hop = {
    label: spec.name,
    host: r.hostName,
    port,
    user: spec.user ?? r.user ?? localUser(),
    identityFiles,
  };
  return withProxy(hop, r, spec.proxyJump, ctx, depth);
}
