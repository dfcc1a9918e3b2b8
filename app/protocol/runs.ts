// Runs: dry run, launch, stop, the persisted run index, and live events and logs by byte offset.
import { z } from 'zod';
import { RunEvent } from '../metrics/events';
import { defineRequests, defineStreams } from './define';
import { ProgressEvent } from './nodes';

export const RunStatus = z.enum([
  'starting',
  'running',
  'succeeded',
  'failed',
  'stopped',
  'stopping',
  'unknown',
]);
export type RunStatus = z.infer<typeof RunStatus>;

export const RunSummary = z.object({
  id: z.string(),
  name: z.string(),
  target: z.string().describe('"this computer" or the node names'),
  status: RunStatus,
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  lastStep: z.number().nullable(),
  lastLoss: z.number().nullable(),
  totalSteps: z.number().nullable(),
  error: z.string().nullable(),
  /** The config text as launched (YAML), to show and to compare with the plan. */
  configYaml: z.string(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const NodeCommand = z.object({
  node: z.string(),
  host: z.string(),
  rank: z.number().int(),
  runDir: z.string(),
  command: z.string().describe('exactly what is executed, shell-quoted'),
  env: z.record(z.string(), z.string()),
  /** The whole start script run on the node (setsid wrapper, pid and exit-status files). */
  script: z.string().optional(),
});
export const LaunchPlan = z.object({
  runId: z.string(),
  target: z.enum(['local', 'ssh']),
  masterAddr: z.string(),
  masterPort: z.number().int(),
  nodes: z.array(NodeCommand),
  /** The concrete layout (auto fields resolved by the planner). */
  normalizedConfig: z.record(z.string(), z.unknown()),
  warnings: z.array(z.string()),
});
export type LaunchPlan = z.infer<typeof LaunchPlan>;

const LaunchParams = z.object({
  configYaml: z.string(),
  /** Overrides launch.target / hosts from the config: "local" or node names. */
  target: z.union([z.literal('local'), z.array(z.string()).min(1)]).optional(),
});

export const LogLine = z.object({
  node: z.string(),
  rank: z.number().int().nullable(),
  line: z.string(),
});

export const runsRequests = defineRequests({
  'runs.list': { params: z.object({}), result: z.array(RunSummary) },
  'runs.dryRun': { params: LaunchParams, result: LaunchPlan },
  'runs.stop': { params: z.object({ id: z.string() }), result: RunSummary },
  /** Forget a finished run's local record. Node files are never deleted by this. */
  'runs.delete': { params: z.object({ id: z.string() }), result: z.object({ ok: z.boolean() }) },
});

export const runsStreams = defineStreams({
  /** Launch with progress (connect, probe, upload, start); ends with the run's id. */
  'runs.launch': {
    params: LaunchParams,
    event: z.discriminatedUnion('type', [
      z.object({ type: z.literal('progress'), progress: ProgressEvent }),
      z.object({ type: z.literal('started'), run: RunSummary }),
      z.object({ type: z.literal('failed'), message: z.string() }),
    ]),
  },
  /** Every event of a run from `from` (an event index) on, then live ones. Resumable. */
  'runs.events': {
    params: z.object({ id: z.string(), from: z.number().int().nonnegative().default(0) }),
    event: z.object({ index: z.number().int(), event: RunEvent }),
  },
  /** Log lines of every node and rank, prefixed by origin; `tail` lines of history first. */
  'runs.logs': {
    params: z.object({ id: z.string(), tail: z.number().int().nonnegative().default(2000) }),
    event: z.array(LogLine),
  },
  /** The run index whenever any run changes (first event: the whole index). */
  'runs.changes': { params: z.object({}), event: z.array(RunSummary) },
});
