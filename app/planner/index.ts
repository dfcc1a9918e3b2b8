// The planner: per-GPU memory, communication, step time and MFU of sequence-parallel layouts,
// the search over them, and the longest sequence each can train. Pure: safe in a Web Worker.
export * from './types';
export { planConfig, planLayout, divisors } from './search';
export { sweepSeqLen, type SeqPoint } from './sweep';
export { applyLayout } from './apply';
export { maxSeqLen } from './maxseq';
export { planContext, type PlanOptions, type PlanContext } from './context';
export { modelShape, type ModelShape } from './shape';
export {
  gpuCatalog,
  gpuSpec,
  calibrationEntries,
  calibrationFor,
  CALIBRATION_KEYS,
  type GpuSpec,
  type Calibration,
  type CalibrationKey,
} from './catalog';
export { formatBytes, formatSeconds, formatCount, formatTokens } from './units';
export { formatPlanTable } from './table';
export { torchBehaviour, DEFAULT_TORCH, type TorchBehaviour } from './torch';
export {
  allocatedAtPeak,
  compareMemory,
  planForRun,
  runLayout,
  memoryEvents,
  formatCompareTable,
  formatError,
  formatBytesPrecise,
  DEFAULT_TOLERANCES,
  type Comparison,
  type CompareRow,
  type CompareOptions,
  type ComparePhase,
} from './compare';
