import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { autoFields } from '../../app/config';
import { repoRoot } from '../testing/cli';
import { resolveConfig } from './launcher';

const tiny = () =>
  parse(
    fs.readFileSync(
      path.join(repoRoot, 'resources', 'fixtures', 'configs', 'tiny-cpu.yaml'),
      'utf8',
    ),
  );

describe('resolving a config for launch', () => {
  it('lets the planner choose the "auto" fields and says what it chose', () => {
    const cfg = tiny();
    Object.assign(cfg.parallel, {
      ulysses: 'auto',
      ring: 'auto',
      zero: 'auto',
      checkpointing: 'auto',
    });
    const { config, warnings } = resolveConfig({ configYaml: stringify(cfg) });
    expect(autoFields(config)).toEqual([]);
    const p = config.parallel as { ulysses: number; ring: number };
    expect(4 % (p.ulysses * p.ring)).toBe(0);
    expect(warnings[0]).toMatch(
      /^the planner chose ulysses \d+ × ring \d+ × dp \d+, ZeRO [0-3], checkpointing \w+/,
    );
    // Normalized: the architecture is resolved for the runtime.
    expect(config.model.architecture.head_dim).toBe(8);
  });

  it('applies a target override and refuses mismatches', () => {
    const two = fs.readFileSync(
      path.join(repoRoot, 'resources', 'fixtures', 'configs', 'two-nodes.yaml'),
      'utf8',
    );
    expect(resolveConfig({ configYaml: two, target: ['x', 'y'] }).config.launch).toMatchObject({
      target: 'ssh',
      hosts: ['x', 'y'],
    });
    expect(() => resolveConfig({ configYaml: two, target: ['x'] })).toThrow(
      '1 node(s) given for a config with cluster.nodes 2',
    );
    expect(() => resolveConfig({ configYaml: two, target: 'local' })).toThrow(
      /local target is one computer/,
    );
    expect(() => resolveConfig({ configYaml: 'version: 1\nname: x\n' })).toThrow(
      /^line \d+:\d+: model/m,
    );
  });
});
