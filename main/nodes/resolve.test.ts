import { describe, expect, it } from 'vitest';
import { NodeSpec } from '../../app/protocol/nodes';
import { parseSshConfig } from '../ssh/ssh-config';
import { hopsForSpec, type ResolveContext } from './resolve';

const ctx = (config: string, nodes: NodeSpec[] = []): ResolveContext => ({
  sshConfig: parseSshConfig(config, { baseDir: '/nonexistent' }),
  findNode: (n) => nodes.find((x) => x.name === n),
});

describe('from a node to the hops to dial', () => {
  const config = [
    'Host gpu1',
    '  HostName i-0abc',
    '  User ubuntu',
    '  ProxyCommand aws ssm start-session --target %h --document AWS-StartSSHSession --parameters portNumber=%p # %n as %r',
    'Host bastion',
    '  HostName 203.0.113.7',
    '  ProxyCommand ssh -W %h:%p gateway',
    'Host inner',
    '  HostName 10.0.0.5',
    '  ProxyJump bastion',
    '',
  ].join('\n');

  it('a config ProxyCommand travels with the hop, tokens expanded for it', () => {
    const hops = hopsForSpec(NodeSpec.parse({ name: 'a100-1', host: 'gpu1' }), ctx(config));
    expect(hops).toHaveLength(1);
    expect(hops[0]).toMatchObject({ label: 'a100-1', host: 'i-0abc', port: 22, user: 'ubuntu' });
    expect(hops[0].proxyCommand).toBe(
      'aws ssm start-session --target i-0abc --document AWS-StartSSHSession --parameters portNumber=22 # gpu1 as ubuntu',
    );
  });

  it("a node's own ProxyJump wins over the config's ProxyCommand, as ssh -J does", () => {
    const hops = hopsForSpec(
      NodeSpec.parse({ name: 'a100-1', host: 'gpu1', proxyJump: 'root@198.51.100.9' }),
      ctx(config),
    );
    expect(hops.map((h) => [h.host, h.proxyCommand ?? null])).toEqual([
      ['198.51.100.9', null],
      ['i-0abc', null],
    ]);
  });

  it('a jump host reached by ProxyCommand is the first hop and carries it', () => {
    const hops = hopsForSpec(NodeSpec.parse({ name: 'n', host: 'inner' }), ctx(config));
    expect(hops.map((h) => [h.label, h.host, h.proxyCommand ?? null])).toEqual([
      ['bastion', '203.0.113.7', 'ssh -W 203.0.113.7:22 gateway'],
      ['n', '10.0.0.5', null],
    ]);
  });
});
