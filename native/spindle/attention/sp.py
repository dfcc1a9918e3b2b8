"""The attention ops a model calls: `attention_op(q, k, v, attn_ctx) -> out`, all [B, L, H, D].

LocalAttention serves one process; SequenceParallelAttention (installed by parallelize) runs
Ulysses inside and ring across: a2a to heads, ring over the ring group, a2a back. Either degree
may be 1, so one class covers Ulysses-only, ring-only and the USP hybrid. ChunkedSPAttention is
the FPDT-style variant for parallel.chunks > 1 (any degrees, one process included).
"""
import torch

from . import kernels
from .chunked import ChunkedAttention
from .ring import RingAttention
from .ulysses import HeadToSeq, SeqToHead, replicate_kv


class LocalAttention:
    def __init__(self, kernel=None):
        self.kernel = kernel

    def __call__(self, q, k, v, attn_ctx):
        kern = self.kernel or kernels.select(q.device)
        t = lambda x: x.transpose(1, 2)
        out = RingAttention.apply(t(q), t(k), t(v), attn_ctx, None, kern, q.shape[-1] ** -0.5)
        return t(out)


class SequenceParallelAttention:
    def __init__(self, ulysses_group, ulysses, ring_comm, kernel=None):
        self.ulysses_group, self.ulysses = ulysses_group, ulysses
        self.ring_comm = ring_comm if ring_comm is not None and ring_comm.size > 1 else None
        self.kernel = kernel

    def __call__(self, q, k, v, attn_ctx):
        kern = self.kernel or kernels.select(q.device)
        if self.ulysses > 1:
            k, v = replicate_kv(k, self.ulysses), replicate_kv(v, self.ulysses)
            q, k, v = (SeqToHead.apply(x, self.ulysses_group) for x in (q, k, v))
        t = lambda x: x.transpose(1, 2)
        out = t(RingAttention.apply(t(q), t(k), t(v), attn_ctx, self.ring_comm, kern, q.shape[-1] ** -0.5))
        if self.ulysses > 1:
            out = HeadToSeq.apply(out.contiguous(), self.ulysses_group)
        return out


class ChunkedSPAttention:
    """Attention over FPDT chunks (attention/chunked.py); needs the chunk-major layout and an
    AttnContext built with the same chunk count (layout.attn_context(..., chunks))."""

    def __init__(self, ulysses_group, ulysses, ring_comm, chunks, kernel=None):
        self.ulysses_group, self.ulysses, self.chunks = ulysses_group, ulysses, chunks
        self.ring_comm = ring_comm if ring_comm is not None and ring_comm.size > 1 else None
        self.kernel = kernel

    def __call__(self, q, k, v, attn_ctx):
        if attn_ctx.chunks != self.chunks:
            raise ValueError(f'attention context has {attn_ctx.chunks} chunks, the model was set up for {self.chunks}')
        kern = self.kernel or kernels.select(q.device)
        if self.ulysses > 1:
            k, v = replicate_kv(k, self.ulysses), replicate_kv(v, self.ulysses)
        return ChunkedAttention.apply(q, k, v, attn_ctx, self.ulysses_group, self.ulysses, self.ring_comm, kern,
                                      q.shape[-1] ** -0.5)
