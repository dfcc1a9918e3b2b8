import { describe, expect, it } from 'vitest';
import { modelPresets } from '../config';
import { modelShape } from './shape';
import { TINY_ARCH } from './fixtures.test-util';
import { Architecture } from '../config';

describe('parameter counts', () => {
  it.each(Object.entries(modelPresets))('%s matches its published count exactly', (_id, preset) => {
    expect(modelShape(preset.architecture).params).toBe(preset.published_params);
  });

  it('Llama-3-8B: 8,030,261,248', () => {
    expect(modelShape(modelPresets['llama-3-8b'].architecture).params).toBe(8_030_261_248);
  });

  it('tiny model, by hand', () => {
    const s = modelShape(Architecture.parse(TINY_ARCH));
    // q 64x64, k and v 64x16 (2 KV heads x head_dim 8), o 64x64, SwiGLU 3 x 64x176, two RMSNorm weights
    expect(s.layerParams).toBe(4096 + 1024 + 1024 + 4096 + 33_792 + 128);
    expect(s.layerMatmulParams).toBe(s.layerParams - 128);
    // embedding 260x64, 2 blocks, final norm, untied LM head
    expect(s.params).toBe(16_640 + 2 * 44_160 + 64 + 16_640);
  });

  it('tied embeddings count the matrix once; qkv bias adds q, k and v widths', () => {
    const tied = modelShape(Architecture.parse({ ...TINY_ARCH, tie_embeddings: true }));
    expect(tied.headParams).toBe(0);
    expect(tied.params).toBe(121_664 - 16_640);
    const biased = modelShape(Architecture.parse({ ...TINY_ARCH, qkv_bias: true }));
    expect(biased.params - 121_664).toBe(2 * (64 + 16 + 16));
  });

  it('explicit head_dim decouples attention width from hidden (Mistral NeMo)', () => {
    const s = modelShape(modelPresets['mistral-nemo-12b'].architecture);
    expect(s.headDim).toBe(128);
    expect(s.qDim).toBe(32 * 128);
    expect(s.qDim).not.toBe(s.hidden);
  });

  it('refuses a hidden size that heads do not divide without head_dim', () => {
    expect(() => modelShape(Architecture.parse({ ...TINY_ARCH, heads: 7, kv_heads: 7 }))).toThrow(
      /head_dim/,
    );
  });
});
