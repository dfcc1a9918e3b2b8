// `spindle launch FILE.yaml`: plan, start and (unless --detach) watch a run, on this computer or
// on nodes over SSH; --dry-run prints every node's command and environment and starts nothing.
import fs from 'node:fs';
import type { LaunchPlan } from '../../../app/protocol/runs';
import type { ProgressEvent } from '../../../app/protocol/nodes';
import { err, out, parse, UsageError, type Command } from '../command';
import { call, cliHost, follow, subscribe } from './runs';

function formatProgress(p: ProgressEvent): string {
  const pct = p.fraction !== undefined ? ` ${Math.round(p.fraction * 100)}%` : '';
  return `${p.step}${p.node ? ` ${p.node}` : ''}: ${p.status}${pct}${p.detail ? ` (${p.detail})` : ''}`;
}

export function formatPlan(plan: LaunchPlan): string {
  const lines = [
    `run ${plan.runId} (${plan.target}), rendezvous ${plan.masterAddr}:${plan.masterPort}`,
  ];
  for (const w of plan.warnings) lines.push(`warning: ${w}`);
  for (const n of plan.nodes) {
    lines.push('', `node ${n.rank}: ${n.node} (${n.host})`, `  run dir: ${n.runDir}`, '  env:');
    for (const [k, v] of Object.entries(n.env).sort()) lines.push(`    ${k}=${v}`);
    lines.push(`  command: ${n.command}`);
  }
  return lines.join('\n');
}

export const launchCommand: Command = {
  name: 'launch',
  summary: 'start a run on this computer or on nodes over SSH, and watch it',
  usage: `Usage: spindle launch FILE.yaml [--dry-run] [--detach] [--on local|NODE,NODE…] [--json]

Resolves "auto" fields with the planner, connects to the nodes (launch.hosts, or --on), puts the
runtime there, and starts torchrun on every node, detached from the SSH session. Then follows the
run's events until it ends (exit code 0 when it succeeded). Ctrl+C detaches; the run goes on.
  --dry-run   print every node's command and environment; start nothing
  --detach    return once the run started
  --on T      run on "local" (this computer) or these nodes instead of launch.target/hosts
  --json      print the plan (dry run) or the run summary as JSON`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      'dry-run': { type: 'boolean' },
      detach: { type: 'boolean' },
      on: { type: 'string' },
      json: { type: 'boolean' },
    });
    const [file] = positionals;
    if (!file || positionals.length > 1) throw new UsageError('expected one FILE.yaml');
    let configYaml: string;
    try {
      configYaml = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(
        `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message}`,
      );
    }
    const target =
      values.on === undefined
        ? undefined
        : values.on === 'local'
          ? ('local' as const)
          : values.on.split(',').filter(Boolean);
    const host = cliHost();
    try {
      if (values['dry-run']) {
        const plan = await call(host, 'runs.dryRun', { configYaml, ...(target ? { target } : {}) });
        out(values.json ? JSON.stringify(plan, null, 2) : formatPlan(plan));
        return 0;
      }
      const result = await new Promise<
        { ok: true; id: string; json: string } | { ok: false; message: string }
      >((resolve) => {
        subscribe(host, 'runs.launch', { configYaml, ...(target ? { target } : {}) }, (e) => {
          if (e.type === 'progress') err(formatProgress(e.progress));
          else if (e.type === 'started')
            resolve({ ok: true, id: e.run.id, json: JSON.stringify(e.run) });
          else resolve({ ok: false, message: e.message });
        }).catch((e: Error) => resolve({ ok: false, message: e.message }));
      });
      if (!result.ok) {
        err(`spindle launch: ${result.message}`);
        return 1;
      }
      if (values.json) out(result.json);
      else err(`started ${result.id}`);
      if (values.detach) {
        err(
          `detached. Watch it: spindle runs attach ${result.id}   stop it: spindle runs stop ${result.id}`,
        );
        return 0;
      }
      return await follow(host, result.id);
    } finally {
      await host.dispose();
    }
  },
};
