"""Which tokens of a sequence live on which SP rank, and the attention context for them.

Ring shards: 'contiguous' gives ring rank r the r-th of R equal slices; 'zigzag' cuts the
sequence into 2R chunks and gives rank r chunks r and 2R-1-r, so every rank has the same
amount of causal work. Each ring shard is then cut into U contiguous pieces, one per Ulysses
rank. Token metadata (global index, document, RoPE position) is indexed with the same indices,
so masks and rotary positions stay global.

FPDT chunks (`parallel.chunks` c > 1) make the Ulysses split chunk-major: the ring shard is cut
into c contiguous chunks and each chunk into U pieces; Ulysses rank u holds piece u of every
chunk. An all-to-all of local chunk i then yields exactly chunk i of the ring shard, in order,
so attention can run (and exchange heads) one chunk at a time and the concatenated chunks are
the same ring shard the unchunked layout gives. c = 1 is the plain layout.
"""
import torch

from ..attention.meta import AttnContext, TokenMeta, active_range, chunk_ranges


def check_seq_len(seq_len, ulysses, ring, variant, chunks=1):
    zig = 2 if variant == 'zigzag' and ring > 1 else 1
    parts = ulysses * ring * zig * chunks
    if seq_len % parts:
        what = ' x '.join((['2'] if zig == 2 else []) + ['ring', 'ulysses'] + (['chunks'] if chunks > 1 else []))
        raise ValueError(f'training.seq_len {seq_len} must be divisible by {what} = {parts} ({variant} layout)')


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


def local_indices(seq_len, ulysses, ring, variant, ring_rank, ulysses_rank, chunks=1):
    shard = ring_shard_indices(seq_len, ring, ring_rank, variant)
    m = shard.numel() // chunks  # one chunk of the ring shard
    n = m // ulysses             # this rank's piece of it
    return torch.cat([shard[i * m + ulysses_rank * n:i * m + (ulysses_rank + 1) * n] for i in range(chunks)])


def attn_context(doc, mesh, variant, chunks=1):
    """AttnContext for this rank, given the full [B, L] document ids of its micro-batch."""
    B, L = doc.shape
    seq = torch.arange(L, device=doc.device).expand(B, L)
    full = TokenMeta(seq, doc)
    idx = local_indices(L, mesh.ulysses, mesh.ring, variant, mesh.ring_rank, mesh.ulysses_rank, chunks).to(doc.device)
    ring = []
    for r in range(mesh.ring):
        ri = ring_shard_indices(L, mesh.ring, r, variant).to(doc.device)
        ring.append(TokenMeta(full.seq[:, ri], full.doc[:, ri]))
    me = mesh.ring_rank
    ranges = [active_range(ring[me], ring[j]) for j in range(mesh.ring)]
    pairs = [chunk_ranges(ring[me], ring[j], chunks) for j in range(mesh.ring)] if chunks > 1 else None
    return AttnContext(local=TokenMeta(full.seq[:, idx], full.doc[:, idx]), ring=ring, ring_rank=me, ranges=ranges,
                       chunks=chunks, chunk_pairs=pairs), idx
