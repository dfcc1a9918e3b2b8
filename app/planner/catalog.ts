// The planner's data: the GPU catalog and the calibration constants, both JSON in resources/
// so that they can be re-measured without touching code. Validated once, at import.
import { z } from 'zod';
import gpuFile from '../../resources/presets/gpus.json';
import calibrationFile from '../../resources/calibration.json';

const positive = z.number().positive();

export const GpuSpec = z
  .object({
    label: z.string().min(1),
    /** Device memory as the driver reports it. */
    memory_mib: positive,
    /** Dense peak, TFLOP/s. fp32 is the non-tensor-core rate (PyTorch keeps TF32 off for matmuls by default). */
    bf16_tflops: positive,
    fp32_tflops: positive,
    /** Memory bandwidth, GB/s. */
    hbm_gbps: positive,
    /** GPU-to-GPU bandwidth inside a node, per direction, GB/s. */
    intra_node_gbps: positive,
    intra_node_link: z.string(),
    /** Per-GPU share of the inter-node network, per direction, GB/s. */
    network_gbps: positive,
    network: z.string(),
    /** Host link used by offload, per direction, GB/s. */
    pcie_gbps: positive,
    /** "cpu": processes on host cores (gloo), timed as CPU work shared by the node's cores (§6). */
    kind: z.enum(['gpu', 'cpu']).optional(),
    source: z.string().min(1),
  })
  .strict();
export type GpuSpec = z.infer<typeof GpuSpec> & { id: string };

export const gpuCatalog: Record<string, GpuSpec> = Object.fromEntries(
  Object.entries(gpuFile as Record<string, unknown>)
    .filter(([id]) => !id.startsWith('$'))
    .map(([id, spec]) => [id, { id, ...GpuSpec.parse(spec) }]),
);

export function gpuSpec(id: string): GpuSpec {
  const spec = gpuCatalog[id];
  if (!spec)
    throw new Error(
      `unknown GPU type "${id}" (known: ${Object.keys(gpuCatalog).sort().join(', ')})`,
    );
  return spec;
}

/** Every calibration constant the model reads. calibration.json must define exactly these. */
export const CALIBRATION_KEYS = [
  'framework_bytes',
  'nccl_base_bytes',
  'nccl_per_group_bytes',
  'fragmentation_fraction',
  'grad_bucket_bytes',
  'matmul_efficiency',
  'attention_efficiency',
  'layer_overhead_s',
  'micro_step_overhead_s',
  'ulysses_overhead_s',
  'ring_step_overhead_s',
  'recompute_overhead_fraction',
  'cpu_sync_efficiency',
  'host_cores',
  'hbm_efficiency',
  'intra_node_efficiency',
  'inter_node_efficiency',
  'pcie_efficiency',
  'latency_intra_s',
  'latency_inter_s',
  'overlap_fraction',
  'cpu_adam_params_per_s',
] as const;
export type CalibrationKey = (typeof CALIBRATION_KEYS)[number];
export type Calibration = Record<CalibrationKey, number>;

/** Where a by_gpu figure was measured: the machine, the day and the command that produced it. */
const Measurement = z
  .object({
    value: z.number().nonnegative(),
    machine: z.string().min(1),
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    command: z.string().min(1),
    how: z.string().min(1),
  })
  .strict();

const CalibrationEntry = z
  .object({
    value: z.number().nonnegative(),
    by_gpu: z.record(z.string(), z.number().nonnegative()).optional(),
    unit: z.string(),
    description: z.string().min(1),
    source: z.string().min(1),
    /** Measured figures by GPU id (native/spindle/accounting/calibrate.py --write records them). */
    measured: z.record(z.string(), Measurement).optional(),
  })
  .strict();
export type CalibrationEntry = z.infer<typeof CalibrationEntry>;

const CalibrationFile = z
  .object({
    $comment: z.string().optional(),
    version: z.literal(1),
    entries: z.record(z.string(), CalibrationEntry),
  })
  .strict();

/**
 * Keys whose every figure is a share of something (an efficiency or a fraction): in (0, 1].
 * An efficiency above 1 would beat the datasheet peak; 0 would divide by zero.
 */
const FRACTION_KEYS: readonly CalibrationKey[] = [
  'fragmentation_fraction',
  'matmul_efficiency',
  'attention_efficiency',
  'hbm_efficiency',
  'intra_node_efficiency',
  'inter_node_efficiency',
  'pcie_efficiency',
  'overlap_fraction',
  'cpu_sync_efficiency',
];
/** Keys that count things: whole numbers (host_cores 0 means "not a CPU node / not known"). */
const INTEGER_KEYS: readonly CalibrationKey[] = ['host_cores'];

/**
 * Checks a parsed calibration.json: exactly the known keys, by_gpu naming catalog GPUs, every
 * measured record equal to the by_gpu figure it documents, fractions in (0, 1] and counts whole.
 * Throws with the first problem, naming the entry.
 */
export function validateCalibration(
  raw: unknown,
  gpuIds: readonly string[] = Object.keys(gpuCatalog),
): Record<CalibrationKey, CalibrationEntry> {
  const file = CalibrationFile.parse(raw);
  const keys = Object.keys(file.entries);
  const missing = CALIBRATION_KEYS.filter((k) => !(k in file.entries));
  const extra = keys.filter((k) => !(CALIBRATION_KEYS as readonly string[]).includes(k));
  // A typo in the file must not silently fall back to nothing: fail loudly at import.
  if (missing.length || extra.length) {
    throw new Error(
      `resources/calibration.json: missing [${missing.join(', ')}], unknown [${extra.join(', ')}]`,
    );
  }
  for (const [k, entry] of Object.entries(file.entries)) {
    for (const gpu of Object.keys(entry.by_gpu ?? {})) {
      if (!gpuIds.includes(gpu))
        throw new Error(`resources/calibration.json: ${k}.by_gpu names unknown GPU "${gpu}"`);
    }
    // A recorded measurement is the figure the planner uses for that GPU, not a note beside it.
    for (const [gpu, m] of Object.entries(entry.measured ?? {})) {
      if (entry.by_gpu?.[gpu] !== m.value) {
        throw new Error(
          `resources/calibration.json: ${k}.measured.${gpu} is ${m.value} but by_gpu.${gpu} is ${entry.by_gpu?.[gpu]}`,
        );
      }
    }
    const figures: [string, number][] = [
      ['value', entry.value],
      ...Object.entries(entry.by_gpu ?? {}).map(([g, v]): [string, number] => [`by_gpu.${g}`, v]),
    ];
    for (const [where, v] of figures) {
      if (FRACTION_KEYS.includes(k as CalibrationKey) && !(v > 0 && v <= 1))
        throw new Error(`resources/calibration.json: ${k}.${where} is ${v}, a fraction in (0, 1]`);
      if (INTEGER_KEYS.includes(k as CalibrationKey) && !Number.isInteger(v))
        throw new Error(`resources/calibration.json: ${k}.${where} is ${v}, a whole number`);
    }
  }
  return file.entries as Record<CalibrationKey, CalibrationEntry>;
}

export const calibrationEntries: Record<CalibrationKey, CalibrationEntry> =
  validateCalibration(calibrationFile);

/** The calibration constants for one GPU type: per-GPU override, else the default; then caller overrides. */
export function calibrationFor(gpuId: string, overrides: Partial<Calibration> = {}): Calibration {
  const out = {} as Calibration;
  for (const k of CALIBRATION_KEYS) {
    const entry = calibrationEntries[k];
    out[k] = overrides[k] ?? entry.by_gpu?.[gpuId] ?? entry.value;
  }
  return out;
}
