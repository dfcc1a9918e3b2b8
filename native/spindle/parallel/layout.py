"""Which tokens of a sequence live on which SP rank, and the attention context for them.

Ring shards: 'contiguous' gives ring rank r the r-th of R equal slices; 'zigzag' cuts the
sequence into 2R chunks and gives rank r chunks r and 2R-1-r, so every rank has the same
amount of causal work. Each ring shard is then cut into U contiguous pieces, one per Ulysses
rank. Token metadata (global index, document, RoPE position) is indexed with the same indices,
so masks and rotary positions stay global.
"""
import torch

from ..attention.meta import AttnContext, TokenMeta, active_range


def check_seq_len(seq_len, ulysses, ring, variant):
    parts = ulysses * ring * (2 if variant == 'zigzag' and ring > 1 else 1)
    if seq_len % parts:
        what = f'2 x ring x ulysses = {parts}' if parts != ulysses * ring else f'ring x ulysses = {parts}'
        raise ValueError(f'training.seq_len {seq_len} must be divisible by {what} ({variant} layout)')


def ring_shard_indices(seq_len, ring, ring_rank, variant):
    if ring == 1:
        return torch.arange(seq_len)
    if variant == 'zigzag':
        c = seq_len // (2 * ring)
        a, b = ring_rank, 2 * ring - 1 - ring_rank
        return torch.cat([torch.arange(a * c, (a + 1) * c), torch.arange(b * c, (b + 1) * c)])
    if variant == 'contiguous':
        n = seq_len // ring
        return torch.arange(ring_rank * n, (ring_rank + 1) * n)
    raise ValueError(f'unknown parallel.ring_variant {variant!r}')


def local_indices(seq_len, ulysses, ring, variant, ring_rank, ulysses_rank):
    shard = ring_shard_indices(seq_len, ring, ring_rank, variant)
    n = shard.numel() // ulysses
    return shard[ulysses_rank * n:(ulysses_rank + 1) * n]


def attn_context(doc, mesh, variant):
    """AttnContext for this rank, given the full [B, L] document ids of its micro-batch."""
    B, L = doc.shape
    seq = torch.arange(L, device=doc.device).expand(B, L)
    full = TokenMeta(seq, doc)
    idx = local_indices(L, mesh.ulysses, mesh.ring, variant, mesh.ring_rank, mesh.ulysses_rank).to(doc.device)
    ring = []
    for r in range(mesh.ring):
        ri = ring_shard_indices(L, mesh.ring, r, variant).to(doc.device)
        ring.append(TokenMeta(full.seq[:, ri], full.doc[:, ri]))
    me = mesh.ring_rank
    ranges = [active_range(ring[me], ring[j]) for j in range(mesh.ring)]
    return AttnContext(local=TokenMeta(full.seq[:, idx], full.doc[:, idx]), ring=ring, ring_rank=me, ranges=ranges), idx
