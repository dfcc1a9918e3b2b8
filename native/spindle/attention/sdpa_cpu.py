"""Local attention on CPU through PyTorch's flash kernel for CPU, which tiles the scores
internally and returns the log-sum-exp, so no score matrix of the block is ever materialised
(the math kernel keeps several fp32 copies of one). Same contract as math_kernel:

forward(q, k, v, qm, km, scale) -> (out fp32 [B,Hq,Lq,D], lse fp32 [B,Hq,Lq])
backward(dout, q, k, v, out, lse, qm, km, scale) -> (dq, dk, dv) fp32

The kernel has no document mask of its own: a block that is all-visible or plain causal (every
block of an unpacked sequence, in every ring and chunk layout) runs with no mask; only a block
that packed documents cut gets an additive mask [B, 1, Lq, Lk] in the compute dtype (one per
block, shared by all heads). GQA: the kernel wants as many KV heads as query heads, so K and V
are repeated per group and dK, dV summed back.

The kernel runs in fp32 whatever the compute dtype, as the math kernel does: bf16 blocks are cast
first (an fp32 copy of the block's q, k, v). On CPUs without native bf16 matrix units (no
AVX512-BF16 / AMX) the kernel's bf16 path is 3-4x slower than casting (native/bench/cpu_attention.py),
and fp32 keeps CPU numerics equal to the reference's.
"""
import torch

from .meta import allowed, block_kind

_FWD = getattr(torch.ops.aten, '_scaled_dot_product_flash_attention_for_cpu', None)
_BWD = getattr(torch.ops.aten, '_scaled_dot_product_flash_attention_for_cpu_backward', None)


def supported():
    return _FWD is not None and _BWD is not None


def _expand(x, heads):
    """fp32, with as many heads as the queries (one copy at most)."""
    if x.shape[1] != heads:
        return x.float().repeat_interleave(heads // x.shape[1], dim=1)
    return x.float()


def _mask(qm, km, dtype=torch.float32):
    """(additive mask or None, causal flag, rows with any allowed key or None)."""
    kind = block_kind(qm, km)
    if kind == 'full':
        return None, False, None
    if kind == 'causal':
        return None, True, None
    ok = allowed(qm, km)  # [B, Lq, Lk] bool
    rows = ok.any(-1)
    mask = torch.zeros(ok.shape[0], 1, *ok.shape[1:], dtype=dtype)
    mask.masked_fill_(ok.logical_not_()[:, None], float('-inf'))
    return mask, False, rows


def forward(q, k, v, qm, km, scale):
    H = q.shape[1]
    mask, causal, rows = _mask(qm, km)
    out, lse = _FWD(q.float(), _expand(k, H), _expand(v, H), 0.0, causal, attn_mask=mask, scale=scale)
    if rows is not None:
        # The kernel leaves lse 0 (not -inf) on a row with no allowed key, which would weigh
        # its zero output into the ring merge.
        lse = lse.masked_fill(~rows[:, None, :], float('-inf'))
    return out, lse


def backward(dout, q, k, v, out, lse, qm, km, scale):
    B, H, Lq, D = q.shape
    Hk = k.shape[1]
    mask, causal, _ = _mask(qm, km)
    lse = torch.where(torch.isinf(lse), torch.zeros_like(lse), lse).contiguous()
    dq, dk, dv = _BWD(dout.float().contiguous(), q.float(), _expand(k, H), _expand(v, H), out.float().contiguous(),
                      lse, 0.0, causal, attn_mask=mask, scale=scale)
    if Hk != H:  # sum each group's heads
        return dq, dk.view(B, Hk, H // Hk, -1, D).sum(2), dv.view(B, Hk, H // Hk, -1, D).sum(2)
    return dq, dk, dv
