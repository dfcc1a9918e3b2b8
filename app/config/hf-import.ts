// Hugging Face config.json -> run-config architecture, for Llama, Qwen2 and Mistral checkpoints.
// Only what changes the model's shape is read; fields the runtime can't honour are refused with
// the field named, and fields that don't change memory or FLOPs are reported as warnings.
import { Architecture } from './schema';

export type HfImportResult =
  | { ok: true; architecture: Architecture; warnings: string[]; source: string }
  | { ok: false; error: string };

const FAMILIES: Record<string, Architecture['family']> = {
  LlamaForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  MistralForCausalLM: 'mistral',
};
const MODEL_TYPES: Record<string, Architecture['family']> = {
  llama: 'llama',
  qwen2: 'qwen2',
  mistral: 'mistral',
};

class ImportError extends Error {}

export function importHfConfig(json: unknown): HfImportResult {
  try {
    return importOrThrow(json);
  } catch (e) {
    if (e instanceof ImportError) return { ok: false, error: e.message };
    throw e;
  }
}

/** Parse the text of a config.json (the UI reads the file; this stays free of I/O). */
export function importHfConfigText(text: string): HfImportResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `not JSON: ${(e as Error).message}` };
  }
  return importHfConfig(json);
}

function importOrThrow(json: unknown): HfImportResult {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new ImportError('config.json must be a JSON object');
  const c = json as Record<string, unknown>;
  const warnings: string[] = [];

  const archs = Array.isArray(c.architectures)
    ? c.architectures.filter((a): a is string => typeof a === 'string')
    : [];
  const byArch = archs.map((a) => FAMILIES[a]).find(Boolean);
  const byType = typeof c.model_type === 'string' ? MODEL_TYPES[c.model_type] : undefined;
  const family = byArch ?? byType;
  if (!family) {
    const what = archs.length
      ? `architectures ${archs.join(', ')}`
      : `model_type ${JSON.stringify(c.model_type)}`;
    throw new ImportError(
      `unsupported model (${what}): supported are ${Object.keys(FAMILIES).join(', ')}`,
    );
  }

  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new ImportError(
        `${key}: expected a positive integer, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const num = (key: string, fallback: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !(v > 0))
      throw new ImportError(`${key}: expected a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'boolean')
      throw new ImportError(`${key}: expected true or false, got ${JSON.stringify(v)}`);
    return v;
  };

  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu')
    throw new ImportError(
      `hidden_act: the runtime's SwiGLU uses silu, this model uses ${JSON.stringify(act)}`,
    );
  if (c.mlp_bias === true)
    throw new ImportError(
      'mlp_bias: biases on the MLP projections are not supported by the runtime',
    );
  // Llama's attention_bias puts a bias on o_proj too; Spindle's layer has q/k/v biases only.
  if (family === 'llama' && c.attention_bias === true) {
    throw new ImportError(
      'attention_bias: Llama-style biases on q, k, v and o are not supported (only Qwen2-style q/k/v biases)',
    );
  }

  const heads = int('num_attention_heads');
  const hidden = int('hidden_size');
  const architecture: Architecture = Architecture.parse({
    family,
    layers: int('num_hidden_layers'),
    hidden,
    heads,
    kv_heads: int('num_key_value_heads', heads),
    ...(c.head_dim != null ? { head_dim: int('head_dim') } : {}),
    ffn: int('intermediate_size'),
    vocab: int('vocab_size'),
    rope_theta: num('rope_theta', 10000),
    // transformers' LlamaConfig, Qwen2Config and MistralConfig all default to untied embeddings.
    tie_embeddings: bool('tie_word_embeddings', false),
    // Qwen2 always has q/k/v biases; Llama (attention_bias false, checked above) and Mistral never do.
    qkv_bias: family === 'qwen2',
    norm_eps: num('rms_norm_eps', 1e-6),
  });
  if (architecture.head_dim === undefined && hidden % heads !== 0) {
    throw new ImportError(
      `hidden_size ${hidden} is not divisible by num_attention_heads ${heads}, and head_dim is not given`,
    );
  }

  const sliding = family === 'qwen2' ? c.use_sliding_window === true : c.sliding_window != null;
  if (sliding) {
    warnings.push(
      'sliding-window attention is not modelled: the plan assumes full causal attention (more attention FLOPs than the model needs)',
    );
  }
  if (c.rope_scaling != null) {
    warnings.push(
      'rope_scaling is not carried over: it changes positions, not memory or FLOPs; set it in the runtime if you need it',
    );
  }
  if (c.torch_dtype === 'float32')
    warnings.push(
      "checkpoint is float32; training.precision still decides the planner's byte widths",
    );
  const source =
    typeof c._name_or_path === 'string' && c._name_or_path ? c._name_or_path : (archs[0] ?? family);
  return { ok: true, architecture, warnings, source };
}
