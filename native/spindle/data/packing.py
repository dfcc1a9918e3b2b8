"""Per-document positions and ids for packed sequences."""
import torch


def doc_positions(doc):
    """RoPE positions restarting at 0 at every document start. doc: [B, L] non-decreasing ids."""
    B, L = doc.shape
    idx = torch.arange(L, device=doc.device).expand(B, L)
    start = torch.ones_like(doc, dtype=torch.bool)
    start[:, 1:] = doc[:, 1:] != doc[:, :-1]
    first = torch.where(start, idx, torch.zeros_like(idx))
    first = torch.cummax(first, dim=1).values
    return idx - first
