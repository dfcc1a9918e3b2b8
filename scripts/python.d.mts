// Types for scripts/python.mjs (imported by the test runners' configs).
export const VENV_PYTHON: string;
export const MIN_TORCH: [number, number];
export function torchVersionOf(py: string): string | null;
export function supportedTorch(version: string | null): boolean;
export function findTorchPython(): { python: string; torch: string } | null;
