"""Ulysses all-to-all: sequence-sharded [B, L/U, H, D] <-> head-sharded [B, L, H/U, D].

Rank u of the Ulysses group holds the u-th contiguous piece of its ring shard; after the
exchange it holds the whole ring shard for heads [u*H/U, (u+1)*H/U). Each direction's
backward is the other direction.
"""
import torch
import torch.distributed as dist

from ..comm import all_to_all


def _seq_to_head(x, group):
    U = dist.get_world_size(group)
    B, Ls, H, D = x.shape
    send = x.reshape(B, Ls, U, H // U, D).permute(2, 0, 1, 3, 4).contiguous()  # [U, B, Ls, H/U, D]
    recv = all_to_all(send, group)  # recv[u] = piece u of the sequence, my heads
    return recv.permute(1, 0, 2, 3, 4).reshape(B, U * Ls, H // U, D)


def _head_to_seq(x, group):
    U = dist.get_world_size(group)
    B, L, Hl, D = x.shape
    send = x.reshape(B, U, L // U, Hl, D).permute(1, 0, 2, 3, 4).contiguous()  # [U, B, Ls, Hl, D]
    recv = all_to_all(send, group)  # recv[u] = my sequence piece, heads of rank u
    return recv.permute(1, 2, 0, 3, 4).reshape(B, L // U, U * Hl, D)


class SeqToHead(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        return _seq_to_head(x, group)

    @staticmethod
    def backward(ctx, g):
        return _head_to_seq(g.contiguous(), ctx.group), None


class HeadToSeq(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        return _head_to_seq(x, group)

    @staticmethod
    def backward(ctx, g):
        return _seq_to_head(g.contiguous(), ctx.group), None


def check_heads(heads, kv_heads, ulysses):
    """Raise a plain-language error if the head counts cannot be split over `ulysses` ranks."""
    if heads % ulysses:
        raise ValueError(f'parallel.ulysses {ulysses} must divide model.architecture.heads {heads}')
    if kv_heads % ulysses and ulysses % kv_heads:
        raise ValueError(f'model.architecture.kv_heads {kv_heads} and parallel.ulysses {ulysses}: one must divide '
                         'the other (kv heads are split over Ulysses ranks, or replicated when fewer)')


def replicate_kv(k, ulysses):
    """With fewer KV heads than Ulysses ranks, repeat each KV head so every rank gets the one its
    query heads use (rank u's queries all map to kv head u // (U / kv_heads)). The repeat's
    backward sums the replicas' gradients."""
    Hk = k.shape[2]
    if Hk >= ulysses:
        return k
    return k.repeat_interleave(ulysses // Hk, dim=2)
