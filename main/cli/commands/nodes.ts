// `spindle nodes add|ls|probe|rm|import`: the node list, shared with the studio.
import type { ProbeResult } from '../../../app/protocol/nodes';
import { parseJumpSpec } from '../../nodes/resolve';
import { err, out, parse, UsageError, type Command } from '../command';
import { call, cliHost, subscribe } from './runs';

const gb = (b: number | null) => (b === null ? '?' : `${(b / 1024 ** 3).toFixed(1)} GB`);

export function formatProbe(r: ProbeResult): string {
  const lines = [`${r.node}: ${r.verdict.toUpperCase()}`];
  for (const reason of r.reasons) lines.push(`  - ${reason}`);
  lines.push(
    `  os: ${r.os ?? '?'} (${r.hostname ?? '?'}), ${r.cpus ?? '?'} CPUs, ${gb(r.memBytes)} RAM, ${gb(r.diskFreeBytes)} free`,
  );
  lines.push(
    `  gpus: ${r.gpus.length ? r.gpus.map((g) => `${g.name} ${gb(g.memBytes)} (driver ${g.driver ?? '?'}, CUDA ${g.cuda ?? '?'})`).join(', ') : 'none'}`,
  );
  lines.push(
    `  python ${r.python ?? '-'}, torch ${r.torch ?? '-'}, CUDA ${r.cuda ?? '-'}, NCCL ${r.nccl ?? '-'}`,
  );
  lines.push(
    `  interfaces: ${r.interfaces.map((i) => `${i.name} ${i.addresses.join(' ')}`).join('; ') || '?'}`,
  );
  for (const x of r.reach)
    lines.push(
      `  reaches ${x.to} at ${x.address}:${x.port}: ${x.ok ? 'yes' : `NO (${x.error ?? ''})`}`,
    );
  return lines.join('\n');
}

export const nodesCommand: Command = {
  name: 'nodes',
  summary: 'the machines runs launch on: add, list, probe, remove, import from ~/.ssh/config',
  usage: `Usage: spindle nodes ls [--json]
       spindle nodes add NAME [USER@]HOST[:PORT] [--identity FILE] [--jump HOPS] [--workdir DIR]
                         [--python PY] [--cluster NAME] [--no-test]
       spindle nodes import ALIAS… [--file SSH_CONFIG] [--cluster NAME]
       spindle nodes probe NAME… [--cluster] [--json]
       spindle nodes rm NAME

  add      test the connection (host key checked against known_hosts, asked on this terminal
           when unknown) and save the node
  import   add Host entries of ~/.ssh/config (HostName, User, Port, IdentityFile, ProxyJump)
  probe    OS, CPUs, memory, GPUs, Python/PyTorch/CUDA/NCCL, disk, interfaces, and a verdict;
           --cluster also tests that every node reaches the first one's rendezvous port`,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub) throw new UsageError('expected ls, add, import, probe or rm');
    const host = cliHost();
    try {
      if (sub === 'ls') {
        const { values } = parse(rest, { json: { type: 'boolean' } }, false);
        const list = await call(host, 'nodes.list', {});
        if (values.json) out(JSON.stringify(list, null, 2));
        else if (list.length === 0)
          out('no nodes yet: spindle nodes add NAME HOST, or spindle nodes import ALIAS');
        else
          for (const n of list) {
            const where = `${n.user ? `${n.user}@` : ''}${n.host}${n.port !== 22 ? `:${n.port}` : ''}`;
            const extra = [
              n.proxyJump && `via ${n.proxyJump}`,
              n.cluster && `cluster ${n.cluster}`,
              n.lastProbe &&
                `${n.lastProbe.verdict} (${new Date(n.lastProbe.at).toISOString().slice(0, 16)})`,
            ].filter(Boolean);
            out(`${n.name.padEnd(20)} ${where}${extra.length ? `  ${extra.join(', ')}` : ''}`);
          }
        return 0;
      }
      if (sub === 'add') {
        const { values, positionals } = parse(rest, {
          identity: { type: 'string', short: 'i' },
          jump: { type: 'string', short: 'J' },
          workdir: { type: 'string' },
          python: { type: 'string' },
          cluster: { type: 'string' },
          'no-test': { type: 'boolean' },
        });
        const [name, target] = positionals;
        if (!name || !target || positionals.length > 2)
          throw new UsageError('expected NAME and [USER@]HOST[:PORT]');
        const t = parseJumpSpec(target);
        const node = {
          name,
          host: t.host,
          ...(t.port ? { port: t.port } : {}),
          ...(t.user ? { user: t.user } : {}),
          ...(values.identity ? { identityFile: values.identity } : {}),
          ...(values.jump ? { proxyJump: values.jump } : {}),
          ...(values.workdir ? { workdir: values.workdir } : {}),
          ...(values.python ? { python: values.python } : {}),
          ...(values.cluster ? { cluster: values.cluster } : {}),
        };
        const entry = await call(host, 'nodes.add', { node, test: !values['no-test'] });
        out(`added ${entry.name} (${entry.host}:${entry.port})`);
        return 0;
      }
      if (sub === 'import') {
        const { values, positionals } = parse(rest, {
          file: { type: 'string' },
          cluster: { type: 'string' },
        });
        if (positionals.length === 0) {
          const hosts = await call(
            host,
            'nodes.sshConfigHosts',
            values.file ? { file: values.file } : {},
          );
          out(
            hosts.length
              ? hosts
                  .map(
                    (h) =>
                      `${h.alias.padEnd(20)} ${h.user ? `${h.user}@` : ''}${h.host}:${h.port}${h.proxyJump ? ` via ${h.proxyJump}` : ''}`,
                  )
                  .join('\n')
              : 'no Host entries',
          );
          return 0;
        }
        const added = await call(host, 'nodes.import', {
          aliases: positionals,
          ...(values.file ? { file: values.file } : {}),
          ...(values.cluster ? { cluster: values.cluster } : {}),
        });
        for (const n of added) out(`imported ${n.name} (${n.host}:${n.port})`);
        return 0;
      }
      if (sub === 'probe') {
        const { values, positionals } = parse(rest, {
          cluster: { type: 'boolean' },
          json: { type: 'boolean' },
        });
        if (positionals.length === 0) throw new UsageError('expected node names');
        const results: ProbeResult[] = [];
        let warnings: string[] = [];
        await new Promise<void>((resolve) => {
          subscribe(host, 'nodes.probe', { names: positionals, cluster: !!values.cluster }, (e) => {
            if (
              e.type === 'progress' &&
              !values.json &&
              (e.progress.status === 'failed' ||
                e.progress.step !== 'upload' ||
                e.progress.fraction === undefined)
            ) {
              err(
                `${e.progress.step}${e.progress.node ? ` ${e.progress.node}` : ''}: ${e.progress.status}${e.progress.detail ? ` (${e.progress.detail})` : ''}`,
              );
            } else if (e.type === 'result') results.push(e.result);
            else if (e.type === 'cluster') warnings = e.warnings;
            else if (e.type === 'done') resolve();
          }).catch((e: Error) => {
            err(e.message);
            resolve();
          });
        });
        if (values.json) out(JSON.stringify({ results, warnings }, null, 2));
        else {
          for (const r of results) out(formatProbe(r));
          for (const w of warnings) out(`cluster: ${w}`);
        }
        return results.length === positionals.length &&
          results.every((r) => r.verdict !== 'not_ready')
          ? 0
          : 1;
      }
      if (sub === 'rm') {
        const { positionals } = parse(rest, {});
        if (positionals.length !== 1) throw new UsageError('expected one node name');
        const r = await call(host, 'nodes.remove', { name: positionals[0] });
        if (!r.ok) {
          err(`no node named ${positionals[0]}`);
          return 1;
        }
        out(`removed ${positionals[0]}`);
        return 0;
      }
      throw new UsageError(`unknown nodes command "${sub}"`);
    } finally {
      await host.dispose();
    }
  },
};
