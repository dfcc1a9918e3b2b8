"""FPDT-style chunked sequence-parallel attention (`parallel.chunks` = c > 1).

The local sequence is laid out chunk-major (parallel/layout.py): Ulysses rank u holds piece u of
each of the c chunks of its ring shard, so the all-to-all of local chunk i gives chunk i of the
ring shard, in sequence order. Everything that was one big transient becomes c (or c²) small ones:

* Ulysses: q, k, v go to head layout one chunk at a time, the output (and in backward dout, dq,
  dk, dv) come back one chunk at a time: all-to-all buffers are 1/c of the unchunked ones.
* Attention: the kernel runs on (query chunk i, key chunk j) pairs only where some query may see
  some key (meta.chunk_ranges: with a causal mask that is j ≤ i), merging partial (out, lse)
  into the fp32 accumulators exactly as the ring does: score transients are 1/c².
* Ring (composition choice: chunking *within each ring step*): the KV block of a ring step
  travels as c chunk messages. Chunk j is sent on while the pairs against chunk j are computed,
  so one incoming KV chunk (and in backward one dK/dV chunk) is in flight at a time: ring
  buffers are 1/c. The ring visits each peer once per pass, as unchunked, so ring bytes do not
  grow with c; only the message count does (as the planner models: λ·c per step).

What is not divided by c: the head-layout q, k, v, the fp32 output accumulator and lse (saved
for backward anyway, as in the unchunked path), and in backward the fp32 dq accumulator, which
collects from every ring step before its chunks return. With c = 1 this computes exactly what
Ulysses + RingAttention compute; results equal the unchunked path up to fp32 summation order.
"""
import torch

from .ring import DKV_TAG, KV_TAG, merge
from .ulysses import _head_to_seq, _seq_to_head


def to_heads(x, group, U, c):
    """Local [B, Lloc, Hx, D] (chunk-major) -> head layout [B, Hx/U, Lring, D], one all-to-all per chunk."""
    if U == 1:
        return x.transpose(1, 2)
    B, Lloc, Hx, D = x.shape
    n = Lloc // c
    buf = torch.empty(B, U * Lloc, Hx // U, D, dtype=x.dtype, device=x.device)
    for i in range(c):
        buf[:, i * U * n:(i + 1) * U * n] = _seq_to_head(x[:, i * n:(i + 1) * n], group)
    return buf.transpose(1, 2)


def to_local(xh, group, U, c, dtype):
    """Head layout [B, Hh, Lring, D] (e.g. an fp32 accumulator) -> local [B, Lring/U, Hh*U, D]
    in `dtype`, one chunk cast and exchanged at a time."""
    if U == 1:
        return xh.transpose(1, 2).to(dtype)
    B, Hh, Lr, D = xh.shape
    m = Lr // c
    n = m // U
    out = torch.empty(B, Lr // U, Hh * U, D, dtype=dtype, device=xh.device)
    for i in range(c):
        piece = xh[:, :, i * m:(i + 1) * m].transpose(1, 2).to(dtype).contiguous()  # [B, m, Hh, D]
        out[:, i * n:(i + 1) * n] = _head_to_seq(piece, group)
    return out


def _kv_chunks(kv, c):
    m = kv.shape[3] // c
    return [kv[:, :, :, j * m:(j + 1) * m] for j in range(c)], m


class ChunkedAttention(torch.autograd.Function):
    """q [B, Lloc, H, D], k, v [B, Lloc, Hk, D] in the local chunk-major layout (k, v already
    replicated for Ulysses when kv heads < U); returns out [B, Lloc, H, D]."""

    @staticmethod
    def forward(ctx, q, k, v, attn_ctx, group, U, comm, kernel, scale):
        c = attn_ctx.chunks
        if attn_ctx.chunk_pairs is None:
            raise ValueError('chunked attention needs an attention context built with chunks > 1')
        qh, kh, vh = (to_heads(x, group, U, c) for x in (q, k, v))
        R = comm.size if comm is not None else 1
        me = attn_ctx.ring_rank
        B, H, L, D = qh.shape
        out = torch.zeros(B, H, L, D, dtype=torch.float32, device=q.device)
        lse = torch.full((B, H, L), float('-inf'), dtype=torch.float32, device=q.device)
        blocks, m = _kv_chunks(torch.stack([kh, vh]), c)
        for s in range(R):
            src = (me - s) % R
            for j in range(c):
                cur = blocks[j]
                wait = comm.shift(cur, KV_TAG) if s < R - 1 else None  # overlaps the pairs below
                for q0, q1, k0, k1 in attn_ctx.chunk_pairs[src][j]:
                    o, l = kernel.forward(qh[:, :, q0:q1], cur[0][:, :, k0 - j * m:k1 - j * m],
                                          cur[1][:, :, k0 - j * m:k1 - j * m], attn_ctx.ring[me].slice(q0, q1),
                                          attn_ctx.ring[src].slice(k0, k1), scale)
                    merge(out[:, :, q0:q1], lse[:, :, q0:q1], o, l)
                if wait is not None:
                    blocks[j] = wait()
        del blocks
        # With U == 1 the head layout is a view of the inputs; save the inputs themselves (a view
        # made here, in no-grad mode, would be saved as a leaf whose grad accumulator is gone).
        ctx.save_for_backward(*((q, k, v) if U == 1 else (qh, kh, vh)), out, lse)
        ctx.args = (attn_ctx, group, U, comm, kernel, scale)
        return to_local(out, group, U, c, q.dtype)

    @staticmethod
    def backward(ctx, dout):
        qh, kh, vh, out, lse = ctx.saved_tensors
        attn_ctx, group, U, comm, kernel, scale = ctx.args
        if U == 1:
            qh, kh, vh = (x.transpose(1, 2) for x in (qh, kh, vh))
        c = attn_ctx.chunks
        R = comm.size if comm is not None else 1
        me = attn_ctx.ring_rank
        doh = to_heads(dout.to(qh.dtype), group, U, c)
        dq = torch.zeros(qh.shape, dtype=torch.float32, device=qh.device)
        blocks, m = _kv_chunks(torch.stack([kh, vh]), c)
        dblocks, _ = _kv_chunks(torch.zeros((2,) + tuple(kh.shape), dtype=torch.float32, device=qh.device), c)
        for s in range(R):
            src = (me - s) % R
            for j in range(c):
                cur, acc = blocks[j], dblocks[j]
                wait_kv = comm.shift(cur, KV_TAG) if s < R - 1 else None
                for q0, q1, k0, k1 in attn_ctx.chunk_pairs[src][j]:
                    a, b = k0 - j * m, k1 - j * m
                    gq, gk, gv = kernel.backward(doh[:, :, q0:q1], qh[:, :, q0:q1], cur[0][:, :, a:b], cur[1][:, :, a:b],
                                                 out[:, :, q0:q1], lse[:, :, q0:q1], attn_ctx.ring[me].slice(q0, q1),
                                                 attn_ctx.ring[src].slice(k0, k1), scale)
                    dq[:, :, q0:q1] += gq
                    acc[0][:, :, a:b] += gk
                    acc[1][:, :, a:b] += gv
                if R > 1:
                    # dK/dV chunk j follows its KV chunk; the last step's hop brings it home.
                    dblocks[j] = comm.shift(acc, DKV_TAG)()
                if wait_kv is not None:
                    blocks[j] = wait_kv()
        del blocks
        dkv = torch.cat(dblocks, dim=3)
        del dblocks
        dq_l = to_local(dq, group, U, c, qh.dtype)
        dk_l = to_local(dkv[0], group, U, c, kh.dtype)
        dv_l = to_local(dkv[1], group, U, c, vh.dtype)
        return dq_l, dk_l, dv_l, None, None, None, None, None, None
