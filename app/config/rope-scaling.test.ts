// model.architecture.rope_scaling: a discriminated union on `type`, defaulting to no scaling; the
// runtime (native/spindle/config.py ROPE_SCALING) checks the same shape.
import { describe, expect, it } from 'vitest';
import { modelPresets, normalizeConfig, parseConfigText, RopeScaling } from '.';

const config = (rope: string) =>
  `version: 1\nname: x\nmodel:\n  architecture:\n    family: llama\n    layers: 2\n    hidden: 64\n    heads: 4\n    kv_heads: 2\n    ffn: 96\n    vocab: 97\n${rope}training: { seq_len: 64 }\ncluster: { gpu: cpu, gpus_per_node: 1 }\n`;
const parse = (rope: string) => parseConfigText(config(rope));

describe('model.architecture.rope_scaling', () => {
  it('defaults to no scaling, for explicit architectures and presets alike', () => {
    const r = parse('');
    expect(r.ok).toBe(true);
    expect(normalizeConfig(r.config!).model.architecture.rope_scaling).toEqual({ type: 'none' });
    for (const p of Object.values(modelPresets))
      expect(p.architecture.rope_scaling).toEqual({ type: 'none' });
  });

  it('accepts linear and llama3 with the fields each needs', () => {
    const lin = parse('    rope_scaling: { type: linear, factor: 4 }\n');
    expect(lin.issues).toEqual([]);
    expect(lin.config!.model.architecture!.rope_scaling).toEqual({ type: 'linear', factor: 4 });
    const l3 = {
      type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position: 8192,
    };
    const r = parse(`    rope_scaling: ${JSON.stringify(l3)}\n`);
    expect(r.issues).toEqual([]);
    expect(normalizeConfig(r.config!).model.architecture.rope_scaling).toEqual(l3);
  });

  it('names the field of a missing, extra or inconsistent value', () => {
    const at = (rope: string) => parse(rope).issues.map((i) => i.path);
    expect(at('    rope_scaling: { type: linear }\n')).toContain(
      'model.architecture.rope_scaling.factor',
    );
    expect(at('    rope_scaling: { type: none, factor: 2 }\n')).toEqual([
      'model.architecture.rope_scaling.factor',
    ]);
    expect(at('    rope_scaling: { type: yarn, factor: 2 }\n')).toEqual([
      'model.architecture.rope_scaling.type',
    ]);
    expect(
      at(
        '    rope_scaling: { type: llama3, factor: 8, low_freq_factor: 4, high_freq_factor: 1, original_max_position: 8192 }\n',
      ),
    ).toEqual(['model.architecture.rope_scaling.high_freq_factor']);
    expect(
      RopeScaling.safeParse({ type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 })
        .success,
    ).toBe(false);
  });
});
