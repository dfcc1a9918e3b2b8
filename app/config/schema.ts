// The run config: one source of truth for the YAML a user edits, the normalized JSON the
// runtime reads, and the JSON Schema the editor uses. Field names in ../shared/examples are a
// contract: add fields, never rename them.
import { z } from 'zod';

const posInt = z.number().int().positive();
const auto = z.literal('auto');
/** A value the planner may choose ("auto") or the user fixes. */
const autoOr = <T extends z.ZodTypeAny>(t: T) => z.union([auto, t]);

const ropeFactor = z.number().positive();

/** How RoPE frequencies are rescaled to stretch a model's context (Hugging Face `rope_scaling`). */
export const RopeScaling = z
  .discriminatedUnion('type', [
    z
      .object({ type: z.literal('none').describe('Plain RoPE.') })
      .strict()
      .describe('No scaling.'),
    z
      .object({
        type: z.literal('linear').describe('Position interpolation.'),
        factor: ropeFactor.describe('Every frequency is divided by this.'),
      })
      .strict()
      .describe('linear: every RoPE frequency divided by factor.'),
    z
      .object({
        type: z.literal('llama3').describe('Llama 3.1-style frequency-dependent scaling.'),
        factor: ropeFactor.describe('Divisor of the low frequencies (long wavelengths).'),
        low_freq_factor: ropeFactor.describe(
          'Wavelengths longer than original_max_position / low_freq_factor are divided by factor.',
        ),
        high_freq_factor: ropeFactor.describe(
          'Wavelengths shorter than original_max_position / high_freq_factor are kept; those between blend.',
        ),
        original_max_position: posInt.describe(
          'Context length the model was pretrained with (original_max_position_embeddings).',
        ),
      })
      .strict()
      .refine((s) => s.high_freq_factor > s.low_freq_factor, {
        path: ['high_freq_factor'],
        message: 'must be greater than low_freq_factor',
      })
      .describe(
        'llama3: high frequencies kept, low ones divided by factor, a smooth blend between (Llama 3.1).',
      ),
  ])
  .describe(
    "RoPE frequency scaling for longer contexts, as in a Hugging Face config's rope_scaling: none, linear (factor) or llama3 (factor, low_freq_factor, high_freq_factor, original_max_position). It changes positions only, not memory or FLOPs.",
  );
export type RopeScaling = z.infer<typeof RopeScaling>;

export const Architecture = z
  .object({
    family: z
      .enum(['llama', 'qwen2', 'mistral'])
      .describe('Model family; all are Llama-style decoders.'),
    layers: posInt.describe('Number of transformer blocks.'),
    hidden: posInt.describe('Hidden size (model width).'),
    heads: posInt.describe('Attention (query) heads.'),
    kv_heads: posInt.describe(
      'Key/value heads (GQA). Equal to heads for plain multi-head attention.',
    ),
    head_dim: posInt.optional().describe('Per-head size; defaults to hidden / heads.'),
    ffn: posInt.describe('SwiGLU intermediate size.'),
    vocab: posInt.describe('Vocabulary size (embedding rows).'),
    rope_theta: z.number().positive().default(10000).describe('RoPE base frequency.'),
    tie_embeddings: z
      .boolean()
      .default(false)
      .describe('Share the embedding matrix with the LM head.'),
    qkv_bias: z.boolean().default(false).describe('Bias on q/k/v projections (Qwen2).'),
    norm_eps: z.number().positive().default(1e-5).describe('RMSNorm epsilon.'),
    rope_scaling: RopeScaling.default({ type: 'none' }),
  })
  .strict();
export type Architecture = z.infer<typeof Architecture>;

export const Model = z
  .object({
    preset: z.string().optional().describe('A model from the preset catalog, e.g. llama-3-8b.'),
    architecture: Architecture.optional().describe('Explicit architecture; overrides the preset.'),
    init: z.enum(['random']).default('random').describe('Weight initialisation.'),
  })
  .strict();

export const Data = z
  .object({
    source: z
      .enum(['sample', 'text', 'jsonl'])
      .default('sample')
      .describe(
        'sample: the corpus shipped with the studio; text: a plain-text file; jsonl: {"prompt","response"} or {"messages"} lines.',
      ),
    path: z.string().optional().describe('File for text / jsonl sources, on the training nodes.'),
    tokenizer: z
      .string()
      .default('byte')
      .describe('"byte" (256 bytes + specials) or a Hugging Face tokenizer path.'),
    pack: z.boolean().default(true).describe('Pack several documents into each sequence.'),
  })
  .strict();

export const Training = z
  .object({
    task: z
      .enum(['pretrain', 'sft'])
      .default('pretrain')
      .describe('sft masks prompt tokens out of the loss.'),
    seq_len: posInt.describe('Tokens per sequence (global, before sequence parallelism).'),
    micro_batch: posInt.default(1).describe('Sequences per data-parallel rank per micro-step.'),
    grad_accum: posInt.default(1).describe('Micro-steps accumulated per optimizer step.'),
    steps: posInt.default(100).describe('Optimizer steps.'),
    lr: z.number().positive().default(3e-4).describe('Peak learning rate.'),
    warmup_steps: z.number().int().nonnegative().default(0).describe('Linear warm-up steps.'),
    schedule: z
      .enum(['cosine', 'linear', 'constant'])
      .default('cosine')
      .describe('Decay after warm-up.'),
    min_lr_ratio: z.number().min(0).max(1).default(0.1).describe('Final lr as a fraction of lr.'),
    weight_decay: z.number().min(0).default(0.1).describe('AdamW weight decay.'),
    beta1: z.number().min(0).max(1).default(0.9).describe('AdamW beta1.'),
    beta2: z.number().min(0).max(1).default(0.95).describe('AdamW beta2.'),
    grad_clip: z.number().min(0).default(1.0).describe('Global gradient-norm clip; 0 disables.'),
    seed: z.number().int().nonnegative().default(0).describe('Seed for init and data order.'),
    precision: z
      .enum(['fp32', 'bf16'])
      .default('bf16')
      .describe('Compute precision (bf16 keeps fp32 master weights).'),
    checkpoint_every: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('Save a checkpoint every N steps; 0: only at the end.'),
    log_every: posInt.default(1).describe('Emit a step event every N steps.'),
    loss: z
      .enum(['materialized', 'chunked'])
      .default('chunked')
      .describe(
        'LM head + cross-entropy. chunked: loss_chunk_tokens tokens at a time, gradient computed in the same pass, so no more than one chunk of logits ever exists (same loss and gradients); materialized: logits of the whole local sequence at once (about 12 B per logit).',
      ),
    loss_chunk_tokens: posInt
      .default(4096)
      .describe('Tokens per LM-head/loss chunk when loss is chunked.'),
  })
  .strict();

export const Offload = z
  .object({
    optimizer: autoOr(z.boolean()).default(false).describe('Keep optimizer states in host memory.'),
    params: autoOr(z.boolean())
      .default(false)
      .describe('Keep parameters in host memory (ZeRO-3 only).'),
    activations: autoOr(z.boolean())
      .default(false)
      .describe('Move checkpointed activations to host memory.'),
  })
  .strict();

export const Parallel = z
  .object({
    ulysses: autoOr(posInt)
      .default('auto')
      .describe('Ulysses (all-to-all) sequence-parallel degree, innermost.'),
    ring: autoOr(posInt).default('auto').describe('Ring-attention degree, across Ulysses groups.'),
    ring_variant: z
      .enum(['zigzag', 'contiguous'])
      .default('zigzag')
      .describe('zigzag balances causal work across ring ranks.'),
    zero: autoOr(z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]))
      .default('auto')
      .describe('ZeRO stage over the data-parallel x sequence-parallel group.'),
    checkpointing: autoOr(z.enum(['none', 'full', 'selective']))
      .default('auto')
      .describe('Activation checkpointing policy.'),
    offload: Offload.prefault({}).describe(
      'Move states to host (CPU) memory to fit longer sequences, at the cost of PCIe traffic.',
    ),
    chunks: autoOr(posInt).default(1).describe('FPDT-style attention chunks per local sequence.'),
  })
  .strict();

export const Cluster = z
  .object({
    gpu: z.string().describe('GPU type from the catalog (e.g. h100-80g), or "cpu".'),
    nodes: posInt.default(1).describe('Machines.'),
    gpus_per_node: posInt.describe('GPUs per machine (on cpu: processes per machine).'),
  })
  .strict();

export const Launch = z
  .object({
    target: z
      .enum(['local', 'ssh'])
      .default('local')
      .describe('local: this computer; ssh: the hosts below.'),
    hosts: z
      .array(z.string().min(1))
      .default([])
      .describe('Node names from the studio node list or ~/.ssh/config.'),
    python: z.string().default('python3').describe('Python with PyTorch on the nodes.'),
    workdir: z
      .string()
      .default('~/.spindle')
      .describe('Where runs and the runtime live on each node.'),
    env: z
      .record(z.string(), z.string())
      .default({})
      .describe('Extra environment for the training processes.'),
  })
  .strict();

export const RunConfig = z
  .object({
    version: z.literal(1).describe('Config format version.'),
    name: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only')
      .describe('Run name.'),
    model: Model.describe(
      'Which model to train: a preset from the catalog or an explicit architecture.',
    ),
    data: Data.prefault({}).describe('Where training text comes from and how it is tokenized.'),
    training: Training.describe('Sequence length, batch, optimizer and schedule.'),
    parallel: Parallel.prefault({}).describe(
      'How the work is split across GPUs (world = dp x ring x ulysses) and which memory savers are on. "auto" fields are chosen by the planner.',
    ),
    cluster: Cluster.describe('The hardware: GPU type, machines and GPUs per machine.'),
    launch: Launch.prefault({}).describe('Where and how the training processes start.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.model.preset && !c.model.architecture) {
      ctx.addIssue({
        code: 'custom',
        path: ['model'],
        message: 'give model.preset or model.architecture',
      });
    }
    if (c.launch.target === 'ssh' && c.launch.hosts.length !== c.cluster.nodes) {
      ctx.addIssue({
        code: 'custom',
        path: ['launch', 'hosts'],
        message: `launch.target ssh needs one host per node: ${c.cluster.nodes} node(s), ${c.launch.hosts.length} host(s)`,
      });
    }
    if ((c.data.source === 'text' || c.data.source === 'jsonl') && !c.data.path) {
      ctx.addIssue({
        code: 'custom',
        path: ['data', 'path'],
        message: `data.source ${c.data.source} needs data.path`,
      });
    }
  });
export type RunConfig = z.infer<typeof RunConfig>;
export type RunConfigInput = z.input<typeof RunConfig>;
