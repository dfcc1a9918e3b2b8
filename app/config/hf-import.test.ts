import { describe, expect, it } from 'vitest';
import { importHfConfig, importHfConfigText } from './hf-import';
import { modelPresets } from './presets';
import { modelShape } from '../planner/shape';

// Trimmed copies of the fields these checkpoints publish in their config.json.
const llama3_8b = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  bos_token_id: 128000,
  hidden_act: 'silu',
  hidden_size: 4096,
  intermediate_size: 14336,
  max_position_embeddings: 8192,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 500000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  vocab_size: 128256,
};

const qwen25_7b = {
  architectures: ['Qwen2ForCausalLM'],
  hidden_act: 'silu',
  hidden_size: 3584,
  intermediate_size: 18944,
  max_position_embeddings: 131072,
  max_window_layers: 28,
  model_type: 'qwen2',
  num_attention_heads: 28,
  num_hidden_layers: 28,
  num_key_value_heads: 4,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 131072,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  use_sliding_window: false,
  vocab_size: 152064,
};

const qwen25_05b = {
  ...qwen25_7b,
  hidden_size: 896,
  intermediate_size: 4864,
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  tie_word_embeddings: true,
  vocab_size: 151936,
};

const mistral_7b = {
  architectures: ['MistralForCausalLM'],
  hidden_act: 'silu',
  hidden_size: 4096,
  intermediate_size: 14336,
  model_type: 'mistral',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  sliding_window: 4096,
  tie_word_embeddings: false,
  vocab_size: 32000,
};

const nemo = {
  ...mistral_7b,
  head_dim: 128,
  hidden_size: 5120,
  num_hidden_layers: 40,
  rope_theta: 1000000.0,
  sliding_window: null,
  vocab_size: 131072,
};

function ok(r: ReturnType<typeof importHfConfig>) {
  if (!r.ok) throw new Error(r.error);
  return r;
}

describe('importHfConfig', () => {
  it.each([
    ['llama-3-8b', llama3_8b],
    ['qwen2.5-7b', qwen25_7b],
    ['qwen2.5-0.5b', qwen25_05b],
    ['mistral-7b-v0.1', mistral_7b],
    ['mistral-nemo-12b', nemo],
  ] as const)(
    'imports %s to the preset architecture and its published parameter count',
    (id, cfg) => {
      const r = ok(importHfConfig(cfg));
      const preset = modelPresets[id];
      const { head_dim: presetHeadDim, ...presetRest } = preset.architecture;
      const { head_dim: importedHeadDim, ...importedRest } = r.architecture;
      expect(importedRest).toEqual(presetRest);
      // head_dim is carried over only when the config states it.
      expect(importedHeadDim ?? r.architecture.hidden / r.architecture.heads).toBe(
        presetHeadDim ?? preset.architecture.hidden / preset.architecture.heads,
      );
      expect(modelShape(r.architecture).params).toBe(preset.published_params);
    },
  );

  it('sets qkv_bias for Qwen2 only', () => {
    expect(ok(importHfConfig(qwen25_7b)).architecture.qkv_bias).toBe(true);
    expect(ok(importHfConfig(llama3_8b)).architecture.qkv_bias).toBe(false);
    expect(ok(importHfConfig(mistral_7b)).architecture.qkv_bias).toBe(false);
  });

  it('warns about what it does not model', () => {
    expect(ok(importHfConfig(mistral_7b)).warnings.join(' ')).toMatch(/sliding-window/);
    expect(ok(importHfConfig(qwen25_7b)).warnings).toEqual([]); // sliding_window present but use_sliding_window false
    const scaled = ok(
      importHfConfig({ ...llama3_8b, rope_scaling: { rope_type: 'llama3', factor: 8 } }),
    );
    expect(scaled.warnings.join(' ')).toMatch(/rope_scaling/);
  });

  it('defaults kv heads to heads (plain multi-head attention)', () => {
    const { num_key_value_heads: _drop, ...mha } = llama3_8b;
    expect(ok(importHfConfig(mha)).architecture.kv_heads).toBe(32);
  });

  it('falls back to model_type when architectures is missing', () => {
    const { architectures: _drop, ...noArch } = qwen25_7b;
    expect(ok(importHfConfig(noArch)).architecture.family).toBe('qwen2');
  });

  it('refuses unsupported models and fields, naming them', () => {
    expect(
      importHfConfig({ ...llama3_8b, architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }),
    ).toEqual({
      ok: false,
      error: expect.stringMatching(/unsupported model \(architectures GPT2LMHeadModel\)/),
    });
    expect(importHfConfig({ ...llama3_8b, mlp_bias: true })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^mlp_bias/),
    });
    expect(importHfConfig({ ...llama3_8b, attention_bias: true })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^attention_bias/),
    });
    expect(importHfConfig({ ...llama3_8b, hidden_act: 'gelu' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^hidden_act/),
    });
    const { intermediate_size: _drop, ...noFfn } = llama3_8b;
    expect(importHfConfig(noFfn)).toEqual({
      ok: false,
      error: 'intermediate_size: expected a positive integer, got nothing',
    });
    expect(importHfConfig({ ...llama3_8b, num_hidden_layers: 0 })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^num_hidden_layers/),
    });
    expect(importHfConfig([1, 2])).toEqual({
      ok: false,
      error: 'config.json must be a JSON object',
    });
  });

  it('parses text and reports bad JSON', () => {
    expect(ok(importHfConfigText(JSON.stringify(llama3_8b))).architecture.layers).toBe(32);
    expect(importHfConfigText('{ nope')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^not JSON/),
    });
  });
});
