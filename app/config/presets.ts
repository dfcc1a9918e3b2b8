// Model presets resolve to a full architecture. The catalog lives in resources/ (data, not code).
import modelCatalog from '../../resources/presets/models.json';
import { Architecture } from './schema';
import type { RunConfig } from './schema';

export interface ModelPreset {
  label: string;
  /** Parameter count as published by the model's authors; tests check the planner against it. */
  published_params: number;
  architecture: Architecture;
}

export const modelPresets: Record<string, ModelPreset> = Object.fromEntries(
  Object.entries(
    modelCatalog as Record<
      string,
      { label: string; published_params: number; architecture: unknown }
    >,
  ).map(([id, p]) => [id, { ...p, architecture: Architecture.parse(p.architecture) }]),
);

/** The architecture a model section stands for: the preset, overridden by an explicit architecture. */
export function resolveArchitecture(model: RunConfig['model']): Architecture {
  if (model.architecture) return model.architecture;
  const id = model.preset ?? '';
  const preset = modelPresets[id];
  if (!preset) {
    const known = Object.keys(modelPresets).sort().join(', ');
    throw new Error(`unknown model preset "${id}" (known: ${known})`);
  }
  return preset.architecture;
}
