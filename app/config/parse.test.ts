import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeConfig, parseConfigText } from '.';

const examples = path.resolve(__dirname, '../../../shared/examples');
const exampleFiles = fs.existsSync(examples)
  ? fs.readdirSync(examples).filter((f) => f.endsWith('.yaml'))
  : [];

describe('run config', () => {
  it.each(exampleFiles)('accepts the shared example %s', (f) => {
    const r = parseConfigText(fs.readFileSync(path.join(examples, f), 'utf8'));
    expect(r.issues).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('resolves a preset to its architecture and fills defaults', () => {
    const r = parseConfigText(
      'version: 1\nname: x\nmodel: { preset: llama-3-8b }\ntraining: { seq_len: 4096 }\ncluster: { gpu: h100-80g, gpus_per_node: 8 }\n',
    );
    expect(r.ok).toBe(true);
    const n = normalizeConfig(r.config!);
    expect(n.model.architecture).toMatchObject({
      layers: 32,
      hidden: 4096,
      kv_heads: 8,
      head_dim: 128,
    });
    expect(n.parallel).toMatchObject({
      ulysses: 'auto',
      ring: 'auto',
      chunks: 1,
      offload: { optimizer: false },
    });
    expect(n.launch).toMatchObject({ target: 'local', python: 'python3' });
  });

  it('names the field, line and column of an unknown key and a bad value', () => {
    const text =
      'version: 1\nname: x\nmodel: {preset: llama-3-8b}\ntraining:\n  seq_len: 100\n  bogus: 1\nparallel:\n  ulysses: 0\ncluster: {gpu: h100-80g, gpus_per_node: 8}\n';
    const r = parseConfigText(text);
    expect(r.ok).toBe(false);
    expect(r.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: 'training.bogus',
          line: 6,
          column: 3,
          message: 'unknown field: bogus',
        }),
        expect.objectContaining({ path: 'parallel.ulysses', line: 8, column: 12 }),
      ]),
    );
  });

  it('tells a missing field from a value of the wrong type', () => {
    const base =
      'version: 1\nname: x\nmodel: { preset: llama-3-8b }\ncluster: { gpu: cpu, gpus_per_node: 1 }\n';
    expect(parseConfigText(base + 'training: { seq_len: lots }\n').issues[0]).toMatchObject({
      path: 'training.seq_len',
      message: 'expected number, got "lots"',
      line: 5,
    });
    expect(parseConfigText(base + 'training: { steps: 3 }\n').issues[0]).toMatchObject({
      path: 'training.seq_len',
      message: 'required',
    });
  });

  it('reports YAML syntax errors with their line', () => {
    const r = parseConfigText('version: 1\nname: x\nmodel:\n  preset: [oops\ntraining: {}\n');
    expect(r.ok).toBe(false);
    expect(r.issues[0].message).toMatch(/^YAML:/);
    expect(r.issues[0].line).toBeGreaterThanOrEqual(4);
  });

  it('rejects an unknown preset naming model.preset', () => {
    const r = parseConfigText(
      'version: 1\nname: x\nmodel: { preset: nope-9b }\ntraining: { seq_len: 8 }\ncluster: { gpu: cpu, gpus_per_node: 1 }\n',
    );
    expect(r.issues[0]).toMatchObject({ path: 'model.preset', line: 3 });
    expect(r.issues[0].message).toMatch(/unknown model preset "nope-9b"/);
  });

  it('checks one host per node for ssh launches', () => {
    const r = parseConfigText(
      'version: 1\nname: x\nmodel: { preset: llama-3-8b }\ntraining: { seq_len: 8 }\ncluster: { gpu: cpu, nodes: 2, gpus_per_node: 1 }\nlaunch: { target: ssh, hosts: [a] }\n',
    );
    expect(r.issues[0]).toMatchObject({ path: 'launch.hosts', line: 6 });
  });
});
