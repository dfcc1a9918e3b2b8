"""Token-weighted loss: every rank returns its *sum*; the caller divides by the global token
count of the whole step (all SP and DP ranks, all micro-batches), so summing gradients over
ranks gives exactly the gradient of the single-process mean."""
import torch.nn.functional as F


def loss_sum(logits, labels, weights):
    """Sum of weighted next-token cross-entropy, fp32. labels/weights: [B, L] aligned with logits."""
    ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction='none')
    return (ce * weights.reshape(-1).float()).sum()
