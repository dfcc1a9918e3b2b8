// What the framework itself keeps for backward differs between PyTorch versions, and the planner
// predicts the runtime's actual tensors, so the version is an input (docs/planner.md §3.1). The
// CLI and the run comparison take it from the run's own `run_start.versions.torch`.

/** Framework behaviours that change memory, as named facts rather than factors. */
export interface TorchBehaviour {
  /** The version string these facts were derived from (e.g. "1.13.0a0", "2.4.1+cu121"). */
  version: string;
  /**
   * torch < 2.0: the backward of `mean` keeps its input, so each RMSNorm
   * (x * rsqrt(mean(x²) + eps)) also keeps its fp32 squared input, 4 B x hidden per token.
   * 2.x keeps only the sizes (measured with saved-tensor hooks on 1.13; docs/planner.md §3.1).
   */
  meanSavesInput: boolean;
}

/** The GPU nodes' torch when nothing says otherwise: a 2.x release. */
export const DEFAULT_TORCH = '2';

export function torchBehaviour(version: string = DEFAULT_TORCH): TorchBehaviour {
  const m = /^\s*(\d+)(?:\.(\d+))?/.exec(version);
  if (!m) throw new Error(`torch version "${version}": expected something like 2.4.1 or 1.13.0`);
  const major = Number(m[1]);
  return { version, meanSavesInput: major < 2 };
}
