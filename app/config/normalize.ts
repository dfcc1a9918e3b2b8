// The normalized run config: every default filled in and the architecture resolved, as JSON.
// It is what the studio writes into a run directory and what native/ reads.
import { stringify } from 'yaml';
import { resolveArchitecture } from './presets';
import type { RunConfig } from './schema';

export type NormalizedConfig = RunConfig & {
  model: RunConfig['model'] & { architecture: NonNullable<RunConfig['model']['architecture']> };
};

export function normalizeConfig(config: RunConfig): NormalizedConfig {
  const architecture = resolveArchitecture(config.model);
  const head_dim = architecture.head_dim ?? architecture.hidden / architecture.heads;
  return { ...config, model: { ...config.model, architecture: { ...architecture, head_dim } } };
}

/** Fields still set to "auto" (the planner chooses them before a launch). */
export function autoFields(config: RunConfig): string[] {
  const p = config.parallel;
  const out: string[] = [];
  for (const k of ['ulysses', 'ring', 'zero', 'checkpointing', 'chunks'] as const)
    if (p[k] === 'auto') out.push(`parallel.${k}`);
  for (const k of ['optimizer', 'params', 'activations'] as const)
    if (p.offload[k] === 'auto') out.push(`parallel.offload.${k}`);
  return out;
}

export function configToYaml(config: unknown): string {
  return stringify(config, { lineWidth: 100 });
}
