"""Reference attention block in plain torch ops (any device, fp32 accumulation).

forward returns (out fp32, lse fp32); backward takes the *final* out and lse of the whole row
(after merging all blocks), as flash-attention's backward does, so one call per block yields
that block's exact share of dq, dk, dv. GQA is handled by grouping query heads per KV head
instead of materialising repeated K/V.
"""
import torch

from .meta import allowed


def _scores(q, k, qm, km, scale):
    B, Hq, Lq, D = q.shape
    Hk = k.shape[1]
    qg = q.float().view(B, Hk, Hq // Hk, Lq, D)
    s = torch.matmul(qg, k.float().unsqueeze(2).transpose(-1, -2)) * scale  # [B,Hk,G,Lq,Lk]
    mask = allowed(qm, km)[:, None, None]
    return s.masked_fill(~mask, float('-inf')), mask


def _finite(lse):
    # Fully masked rows have lse = -inf; using 0 there makes exp(-inf - 0) = 0 instead of NaN.
    return torch.where(torch.isinf(lse), torch.zeros_like(lse), lse)


def forward(q, k, v, qm, km, scale):
    B, Hq, Lq, D = q.shape
    Hk = k.shape[1]
    s, _ = _scores(q, k, qm, km, scale)
    lse = torch.logsumexp(s, dim=-1)  # [B,Hk,G,Lq]
    p = torch.exp(s - _finite(lse)[..., None])
    out = torch.matmul(p, v.float().unsqueeze(2))  # [B,Hk,G,Lq,D]
    return out.reshape(B, Hq, Lq, D), lse.reshape(B, Hq, Lq)


def backward(dout, q, k, v, out, lse, qm, km, scale):
    B, Hq, Lq, D = q.shape
    Hk = k.shape[1]
    G = Hq // Hk
    s, _ = _scores(q, k, qm, km, scale)
    p = torch.exp(s - _finite(lse.float()).view(B, Hk, G, Lq, 1))
    do = dout.float().view(B, Hk, G, Lq, D)
    delta = (do * out.float().view(B, Hk, G, Lq, D)).sum(-1, keepdim=True)
    dv = torch.matmul(p.transpose(-1, -2), do).sum(2)
    dp = torch.matmul(do, v.float().unsqueeze(2).transpose(-1, -2))
    ds = p * (dp - delta)
    dq = torch.matmul(ds, k.float().unsqueeze(2)) * scale
    dk = torch.matmul(ds.transpose(-1, -2), q.float().view(B, Hk, G, Lq, D)).sum(2) * scale
    return dq.reshape(B, Hq, Lq, D), dk, dv
