// A layout's identity across plans: the selection survives an edit while the same layout exists.
import type { LayoutChoice } from '../../../../app/planner/types';

export const layoutKey = (l: LayoutChoice) =>
  `${l.ulysses}x${l.ring}x${l.dp}/z${l.zero}/${l.checkpointing}/${+l.offload.optimizer}${+l.offload.params}${+l.offload.activations}/c${l.chunks}`;
