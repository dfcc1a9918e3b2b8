"""Which query may attend which key: described per token, not as a dense mask.

Every token carries `seq` (its index in the full, unsharded sequence) and `doc` (the packed
document it belongs to). Query i may attend key j iff doc[i] == doc[j] and seq[j] <= seq[i].
This stays correct however the sequence is sharded, since both numbers are global.
"""
from dataclasses import dataclass
from typing import List, Optional, Tuple

import warnings

import torch

# Older torch releases flag scatter_reduce as beta on every call; the amin/amax reductions used here are stable.
warnings.filterwarnings('ignore', message='scatter_reduce\\(\\) is in beta')


@dataclass
class TokenMeta:
    seq: torch.Tensor  # [B, L] int64, index in the full sequence
    doc: torch.Tensor  # [B, L] int64, document id (equal ids attend each other causally)

    def slice(self, a, b):
        return TokenMeta(self.seq[:, a:b], self.doc[:, a:b])

    def to(self, device):
        return TokenMeta(self.seq.to(device), self.doc.to(device))

    def __len__(self):
        return self.seq.shape[1]


def allowed(q: TokenMeta, k: TokenMeta) -> torch.Tensor:
    """Dense boolean mask [B, Lq, Lk] (only for one block at a time)."""
    same_doc = q.doc[:, :, None] == k.doc[:, None, :]
    causal = k.seq[:, None, :] <= q.seq[:, :, None]
    return same_doc & causal


def block_kind(q: TokenMeta, k: TokenMeta) -> Optional[str]:
    """'full' when every query sees every key, 'causal' when the block is one document's plain
    causal square (same increasing positions for queries and keys), else None (a mask is needed).
    Every block of an unpacked sequence is one of the two in every ring, zigzag and chunk layout."""
    docs = torch.cat([q.doc, k.doc], 1)
    if not bool((docs == docs[:, :1]).all()):
        return None
    if bool((k.seq.max(1).values <= q.seq.min(1).values).all()):
        return 'full'
    if q.seq.shape == k.seq.shape and torch.equal(q.seq, k.seq) and bool((q.seq[:, 1:] > q.seq[:, :-1]).all()):
        return 'causal'
    return None


def active_range(q: TokenMeta, k: TokenMeta) -> Optional[Tuple[int, int, int, int]]:
    """Bounding ranges (q0, q1, k0, k1) of query rows that see any key and keys seen by any query,
    or None when the block is fully masked. Computed in O(L) per block from per-document extremes,
    so zigzag ring steps and packed documents skip the work their masks rule out."""
    B = q.seq.shape[0]
    offs = torch.arange(B, device=q.seq.device)[:, None]
    # Make document ids distinct per batch row, then compact them to 0..n-1.
    keys = torch.cat([q.doc * B + offs, k.doc * B + offs], dim=1).reshape(-1)
    uniq, inv = torch.unique(keys, return_inverse=True)
    inv = inv.view(B, -1)
    qi, ki = inv[:, :q.seq.shape[1]].reshape(-1), inv[:, q.seq.shape[1]:].reshape(-1)
    n = uniq.numel()
    big = torch.iinfo(torch.int64).max
    kmin = torch.full((n,), big, dtype=torch.int64, device=keys.device).scatter_reduce(
        0, ki, k.seq.reshape(-1), reduce='amin', include_self=True)
    qmax = torch.full((n,), -1, dtype=torch.int64, device=keys.device).scatter_reduce(
        0, qi, q.seq.reshape(-1), reduce='amax', include_self=True)
    q_act = (kmin[qi] <= q.seq.reshape(-1)).view(B, -1).any(0)
    k_act = (qmax[ki] >= k.seq.reshape(-1)).view(B, -1).any(0)
    if not bool(q_act.any()):
        return None
    qa = torch.nonzero(q_act).view(-1)
    ka = torch.nonzero(k_act).view(-1)
    return int(qa[0]), int(qa[-1]) + 1, int(ka[0]), int(ka[-1]) + 1


def chunk_ranges(q_meta, k_meta, chunks):
    """For FPDT chunks: [j][...] = (q0, q1, k0, k1) active ranges of (query chunk i, key chunk j)
    pairs of a ring block, in shard coordinates; fully masked pairs (e.g. later key chunks) are
    left out, so causal chunks ≤ i are all that is ever computed."""
    mq, mk = len(q_meta) // chunks, len(k_meta) // chunks
    out = []
    for j in range(chunks):
        pairs = []
        for i in range(chunks):
            r = active_range(q_meta.slice(i * mq, (i + 1) * mq), k_meta.slice(j * mk, (j + 1) * mk))
            if r is not None:
                pairs.append((i * mq + r[0], i * mq + r[1], j * mk + r[2], j * mk + r[3]))
        out.append(pairs)
    return out


@dataclass
class AttnContext:
    """What the model hands, unread, to its attention op for one micro-batch.

    local: metadata of this rank's own tokens (the model's sequence dimension).
    ring: for sequence-parallel runs, metadata of every ring rank's shard (the sequence each
        Ulysses group holds after its all-to-all), in ring order; None on one process.
    ranges: active_range(ring[me], ring[j]) for every j, precomputed once per micro-batch.
    chunks, chunk_pairs: FPDT chunking (parallel.chunks); chunk_pairs[j][kv_chunk] lists the
        active (q0, q1, k0, k1) of every (query chunk, key chunk) pair against ring rank j's
        block (see chunk_ranges); None when chunks == 1.
    """
    local: TokenMeta
    ring: Optional[List[TokenMeta]] = None
    ring_rank: int = 0
    ranges: Optional[list] = None
    chunks: int = 1
    chunk_pairs: Optional[list] = None

    @staticmethod
    def single(seq, doc, chunks=1):
        meta = TokenMeta(seq, doc)
        pairs = [chunk_ranges(meta, meta, chunks)] if chunks > 1 else None
        return AttnContext(local=meta, ring=[meta], ring_rank=0, ranges=[active_range(meta, meta)],
                           chunks=chunks, chunk_pairs=pairs)
