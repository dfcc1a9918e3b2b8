// Model dimensions and parameter counts, derived from the architecture (no lookup tables).
// docs/planner.md §1 derives each count.
import type { Architecture } from '../config';

export interface ModelShape {
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffn: number;
  vocab: number;
  tied: boolean;
  qkvBias: boolean;
  /** Width of q (heads x head_dim) and of k or v (kv_heads x head_dim). */
  qDim: number;
  kvDim: number;
  /** Parameters of one transformer block (matmuls, biases, two RMSNorm weights). */
  layerParams: number;
  /** Weights of one block's matmuls: the FLOP-bearing part (biases and norms excluded). */
  layerMatmulParams: number;
  /** Input embedding, V x h. */
  embeddingParams: number;
  /** LM head, V x h, or 0 when tied to the embedding. */
  headParams: number;
  finalNormParams: number;
  params: number;
}

export function modelShape(arch: Architecture): ModelShape {
  const { layers, hidden: h, heads, kv_heads: kvHeads, ffn, vocab } = arch;
  const headDim = arch.head_dim ?? h / heads;
  if (!Number.isInteger(headDim))
    throw new Error(`hidden ${h} is not divisible by heads ${heads}; give head_dim`);
  const qDim = heads * headDim;
  const kvDim = kvHeads * headDim;
  // q, k, v, o projections and the SwiGLU gate, up and down projections.
  const layerMatmulParams = h * qDim + 2 * h * kvDim + qDim * h + 3 * h * ffn;
  const bias = arch.qkv_bias ? qDim + 2 * kvDim : 0;
  const norms = 2 * h; // input_layernorm and post_attention_layernorm weights
  const layerParams = layerMatmulParams + bias + norms;
  const embeddingParams = vocab * h;
  const headParams = arch.tie_embeddings ? 0 : vocab * h;
  const finalNormParams = h;
  return {
    layers,
    hidden: h,
    heads,
    kvHeads,
    headDim,
    ffn,
    vocab,
    tied: arch.tie_embeddings,
    qkvBias: arch.qkv_bias,
    qDim,
    kvDim,
    layerParams,
    layerMatmulParams,
    embeddingParams,
    headParams,
    finalNormParams,
    params: embeddingParams + layers * layerParams + finalNormParams + headParams,
  };
}
