// The CLI in-process: version, help on every command, and config errors that name line and field.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import pkg from '../../package.json';
import { main } from './index';
import { commands } from './commands';

let stdout = '';
let stderr = '';
beforeEach(() => {
  stdout = stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
});
afterEach(() => vi.restoreAllMocks());

describe('spindle CLI', () => {
  it('prints its version', async () => {
    expect(await main(['--version'])).toBe(0);
    expect(stdout.trim()).toBe(pkg.version);
  });

  it('has --help on every command, and lists them all', async () => {
    expect(await main(['--help'])).toBe(0);
    for (const c of commands) expect(stdout).toContain(c.name);
    for (const c of commands) {
      stdout = '';
      expect(await main([c.name, '--help'])).toBe(0);
      expect(stdout).toMatch(/^Usage: spindle /);
    }
  });

  it('rejects unknown commands and options with exit code 2', async () => {
    expect(await main(['frobnicate'])).toBe(2);
    expect(stderr).toContain('unknown command "frobnicate"');
    expect(await main(['config', '--nope'])).toBe(2);
  });

  it('names the file, line, column and field of a config error', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-cli-')), 'bad.yaml');
    fs.writeFileSync(
      file,
      'version: 1\nname: x\nmodel: { preset: llama-3-8b }\ntraining:\n  seq_len: -4\ncluster: { gpu: h100-80g, gpus_per_node: 8 }\n',
    );
    expect(await main(['config', file])).toBe(1);
    expect(stderr).toMatch(
      new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:12: training\\.seq_len: `),
    );
  });

  it('prints normalized JSON that round-trips', async () => {
    // The repo's copy of the contract example (app/config/parse.test.ts checks the shared ones).
    const examples = path.resolve(__dirname, '../../resources/examples/tiny-cpu.yaml');
    expect(await main(['config', examples, '--normalize'])).toBe(0);
    const json = JSON.parse(stdout);
    expect(json.model.architecture).toMatchObject({
      hidden: 64,
      heads: 8,
      kv_heads: 2,
      head_dim: 8,
    });
    expect(json.parallel).toMatchObject({ ulysses: 2, ring: 2, ring_variant: 'zigzag' });
  });
});
