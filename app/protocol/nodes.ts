// Nodes: the persisted node list, ~/.ssh/config import, connection tests and probes.
import { z } from 'zod';
import { defineRequests, defineStreams } from './define';

export const NodeSpec = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().min(1).optional(),
  identityFile: z.string().optional(),
  proxyJump: z.string().optional().describe('user@host:port[,…] or a node / ssh-config name'),
  cluster: z.string().optional().describe('Named group a run config can target'),
  /** Where runs and the runtime live on this node; overrides the run config's launch.workdir. */
  workdir: z.string().optional(),
  /** Python with PyTorch on this node; overrides the run config's launch.python. */
  python: z.string().optional(),
});
export type NodeSpec = z.infer<typeof NodeSpec>;

export const Verdict = z.enum(['ready', 'warning', 'not_ready', 'unknown']);
export type Verdict = z.infer<typeof Verdict>;

export const ProbeResult = z.object({
  node: z.string(),
  at: z.number(),
  verdict: Verdict,
  /** Why the verdict is what it is, in plain words, worst first. */
  reasons: z.array(z.string()),
  os: z.string().nullable(),
  hostname: z.string().nullable(),
  cpus: z.number().nullable(),
  memBytes: z.number().nullable(),
  gpus: z.array(
    z.object({
      name: z.string(),
      memBytes: z.number(),
      driver: z.string().nullable(),
      cuda: z.string().nullable(),
    }),
  ),
  python: z.string().nullable(),
  torch: z.string().nullable(),
  cuda: z.string().nullable(),
  nccl: z.string().nullable(),
  diskFreeBytes: z.number().nullable(),
  interfaces: z.array(z.object({ name: z.string(), addresses: z.array(z.string()) })),
  /** Rendezvous reachability from this node to the others (cluster probes). */
  reach: z.array(
    z.object({
      to: z.string(),
      address: z.string(),
      port: z.number(),
      ok: z.boolean(),
      error: z.string().optional(),
    }),
  ),
});
export type ProbeResult = z.infer<typeof ProbeResult>;

export const NodeEntry = NodeSpec.extend({ lastProbe: ProbeResult.nullable() });
export type NodeEntry = z.infer<typeof NodeEntry>;

export const SshConfigHost = z.object({
  alias: z.string(),
  host: z.string(),
  port: z.number().int(),
  user: z.string().optional(),
  identityFile: z.string().optional(),
  proxyJump: z.string().optional(),
  /** As written in the config; run from there at connect time, never stored with the node. */
  proxyCommand: z.string().optional(),
});

export const ProgressEvent = z.object({
  step: z.string().describe('connect, probe, upload, start, …'),
  node: z.string().optional(),
  status: z.enum(['running', 'done', 'failed', 'skipped']),
  detail: z.string().optional(),
  /** 0..1 where the step can tell. */
  fraction: z.number().min(0).max(1).optional(),
});
export type ProgressEvent = z.infer<typeof ProgressEvent>;

export const nodesRequests = defineRequests({
  'nodes.list': { params: z.object({}), result: z.array(NodeEntry) },
  /** Test the connection (host key checks and prompts included), then save. */
  'nodes.add': {
    params: z.object({ node: NodeSpec, test: z.boolean().default(true) }),
    result: NodeEntry,
  },
  'nodes.update': { params: z.object({ name: z.string(), node: NodeSpec }), result: NodeEntry },
  'nodes.remove': { params: z.object({ name: z.string() }), result: z.object({ ok: z.boolean() }) },
  /** Hosts in ~/.ssh/config (or the given file) that could be imported. */
  'nodes.sshConfigHosts': {
    params: z.object({ file: z.string().optional() }),
    result: z.array(SshConfigHost),
  },
  'nodes.import': {
    params: z.object({
      aliases: z.array(z.string()).min(1),
      file: z.string().optional(),
      cluster: z.string().optional(),
    }),
    result: z.array(NodeEntry),
  },
  'nodes.test': {
    params: z.object({ node: NodeSpec }),
    result: z.object({ ok: z.boolean(), message: z.string() }),
  },
});

export const nodesStreams = defineStreams({
  /** Probe one node, a list, or a whole cluster (adds reachability and version-mismatch checks). */
  'nodes.probe': {
    params: z.object({ names: z.array(z.string()).min(1), cluster: z.boolean().default(false) }),
    event: z.discriminatedUnion('type', [
      z.object({ type: z.literal('progress'), progress: ProgressEvent }),
      z.object({ type: z.literal('result'), result: ProbeResult }),
      z.object({ type: z.literal('cluster'), warnings: z.array(z.string()) }),
      z.object({ type: z.literal('done') }),
    ]),
  },
  /** The node list whenever it changes (first event: the current list). */
  'nodes.changes': { params: z.object({}), event: z.array(NodeEntry) },
});
