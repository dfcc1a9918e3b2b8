"""Fused CUDA attention blocks, each behind a one-time self-test against the math path.

* 'flash_attn'     the flash-attn package (if installed), for blocks whose mask is either empty
                   (every query sees every key) or plain causal over identical positions, which
                   is every block of an unpacked zigzag/contiguous ring. Other blocks fall through
                   to the next kernel.
* 'sdpa_efficient' torch 2.x's memory-efficient SDPA op, which returns the log-sum-exp and takes
                   an additive bias, so it serves any document mask.

Private torch / flash-attn entry points change their signatures between releases, so calls are
built from the signature found at run time and a kernel is offered only if a small forward and
backward on this GPU agree with the math path (see _self_test). A failed probe is logged and the
next kernel is used; correctness never depends on a fused path being present.
"""
import inspect
import logging

import torch

from . import math_kernel
from .meta import TokenMeta, allowed, block_kind

log = logging.getLogger('spindle.attention')
_probed = {}


def _kw_call(fn, known, names):
    return fn(**{n: known[n] for n in names if n in known})


def _param_names(fn):
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return [a.name for a in fn._schema.arguments]  # torch.ops overload


def _sanitize(out, lse, row_any):
    """Rows with no allowed key: out 0, lse -inf (fused kernels may leave NaN there)."""
    dead = ~row_any[:, None, :]
    return out.masked_fill(dead[..., None], 0.0), lse.masked_fill(dead, float('-inf'))


class SdpaEfficient:
    name = 'sdpa_efficient'

    def __init__(self):
        ops = torch.ops.aten
        self.fwd_op = ops._scaled_dot_product_efficient_attention.default
        self.bwd_op = ops._scaled_dot_product_efficient_attention_backward.default
        self.fwd_names = _param_names(self.fwd_op)
        self.bwd_names = _param_names(self.bwd_op)
        if 'attn_bias' not in self.fwd_names:
            raise RuntimeError('this torch has no attn_bias on efficient attention (needs torch >= 2.1)')

    @staticmethod
    def _bias(qm, km, dtype, heads):
        mask = allowed(qm, km)  # [B, Lq, Lk]
        B, Lq, Lk = mask.shape
        # The kernel wants the bias rows 16-element aligned: pad the storage, view the used part.
        buf = torch.zeros(B, 1, Lq, (Lk + 15) // 16 * 16, dtype=dtype, device=mask.device)
        buf[:, 0, :, :Lk].masked_fill_(~mask, float('-inf'))
        return buf[..., :Lk].expand(B, heads, Lq, Lk), mask.any(-1)

    @staticmethod
    def _expand(k, heads):
        return k.repeat_interleave(heads // k.shape[1], dim=1) if k.shape[1] != heads else k

    def forward(self, q, k, v, qm, km, scale):
        H = q.shape[1]
        bias, row_any = self._bias(qm, km, q.dtype, H)
        known = dict(query=q, key=self._expand(k, H), value=self._expand(v, H), attn_bias=bias,
                     compute_log_sumexp=True, dropout_p=0.0, is_causal=False, scale=scale)
        res = _kw_call(self.fwd_op, known, self.fwd_names)
        out, lse = res[0].float(), res[1][..., :q.shape[2]].float()
        return _sanitize(out, lse, row_any)

    def backward(self, dout, q, k, v, out, lse, qm, km, scale):
        B, H, Lq, D = q.shape
        Hk = k.shape[1]
        bias, _ = self._bias(qm, km, q.dtype, H)
        lse_pad = torch.zeros(B, H, (Lq + 31) // 32 * 32, dtype=torch.float32, device=q.device)
        lse_pad[..., :Lq] = torch.where(torch.isinf(lse), torch.zeros_like(lse), lse)
        empty = torch.zeros((), dtype=torch.int64, device=q.device)
        known = dict(grad_out_=dout.to(q.dtype).contiguous(), query=q, key=self._expand(k, H),
                     value=self._expand(v, H), attn_bias=bias, out=out.to(q.dtype).contiguous(),
                     logsumexp=lse_pad, philox_seed=empty, philox_offset=empty, dropout_p=0.0,
                     grad_input_mask=[True, True, True, False], is_causal=False, scale=scale)
        dq, dk, dv = _kw_call(self.bwd_op, known, self.bwd_names)[:3]
        dk = dk.float().view(B, Hk, H // Hk, -1, D).sum(2)
        dv = dv.float().view(B, Hk, H // Hk, -1, D).sum(2)
        return dq.float(), dk, dv


class FlashAttn:
    name = 'flash_attn'

    def __init__(self, fallback):
        from flash_attn import flash_attn_interface as fai
        self.fwd, self.bwd = fai._flash_attn_forward, fai._flash_attn_backward
        self.fwd_names, self.bwd_names = _param_names(self.fwd), _param_names(self.bwd)
        self.fallback = fallback

    @staticmethod
    def mode(q, qm: TokenMeta, km: TokenMeta):
        """'full', 'causal' or None (a dtype, head size or mask flash cannot express)."""
        if q.dtype not in (torch.float16, torch.bfloat16) or q.shape[-1] % 8 or q.shape[-1] > 256:
            return None
        return block_kind(qm, km)

    def _common(self, scale, causal):
        return dict(dropout_p=0.0, softmax_scale=scale, causal=causal, window_size=(-1, -1),
                    window_size_left=-1, window_size_right=-1, softcap=0.0, alibi_slopes=None,
                    return_softmax=False, deterministic=True, rng_state=None)

    def forward(self, q, k, v, qm, km, scale):
        m = self.mode(q, qm, km)
        if m is None:
            return self.fallback.forward(q, k, v, qm, km, scale)
        t = lambda x: x.transpose(1, 2).contiguous()  # flash-attn wants [B, L, H, D]
        known = dict(q=t(q), k=t(k), v=t(v), **self._common(scale, m == 'causal'))
        res = _kw_call(self.fwd, known, self.fwd_names)
        B, H, Lq, _ = q.shape
        lse = next(x for x in res[1:] if torch.is_tensor(x) and x.dtype == torch.float32 and tuple(x.shape) == (B, H, Lq))
        return res[0].transpose(1, 2).float(), lse.float()

    def backward(self, dout, q, k, v, out, lse, qm, km, scale):
        m = self.mode(q, qm, km)
        if m is None:
            return self.fallback.backward(dout, q, k, v, out, lse, qm, km, scale)
        t = lambda x: x.transpose(1, 2).contiguous()
        qt, kt, vt = t(q), t(k), t(v)
        dq, dk, dv = torch.empty_like(qt), torch.empty_like(kt), torch.empty_like(vt)
        known = dict(dout=t(dout.to(q.dtype)), q=qt, k=kt, v=vt, out=t(out.to(q.dtype)),
                     softmax_lse=lse.float().contiguous(), dq=dq, dk=dk, dv=dv, **self._common(scale, m == 'causal'))
        _kw_call(self.bwd, known, self.bwd_names)
        return dq.transpose(1, 2).float(), dk.transpose(1, 2).float(), dv.transpose(1, 2).float()


def _self_test(kern):
    """Small GQA block with a document mask and a causal block, forward and backward vs math."""
    g = torch.Generator(device='cpu').manual_seed(0)
    dev = torch.device('cuda')
    B, Hq, Hk, L, D = 1, 4, 2, 48, 64
    mk = lambda *s: torch.randn(*s, generator=g).to(dev, torch.bfloat16)
    q, k, v, do = mk(B, Hq, L, D), mk(B, Hk, L, D), mk(B, Hk, L, D), mk(B, Hq, L, D)
    seq = torch.arange(L, device=dev)[None]
    for doc in (torch.zeros_like(seq), (seq >= 20).long()):
        m = TokenMeta(seq, doc)
        o_ref, l_ref = math_kernel.forward(q, k, v, m, m, D ** -0.5)
        o, l = kern.forward(q, k, v, m, m, D ** -0.5)
        g_ref = math_kernel.backward(do, q, k, v, o_ref, l_ref, m, m, D ** -0.5)
        g_new = kern.backward(do, q, k, v, o_ref, l_ref, m, m, D ** -0.5)
        for a, b in [(o, o_ref), (l, l_ref), *zip(g_new, g_ref)]:
            if not torch.allclose(a, b, atol=3e-2, rtol=3e-2):
                raise RuntimeError(f'self-test mismatch (max abs diff {(a - b).abs().max().item():.3g})')


def _build(name):
    if name == 'sdpa_efficient':
        return SdpaEfficient()
    if name == 'flash_attn':
        # Probed after sdpa_efficient, so its fallback is known here.
        return FlashAttn(_probed.get('sdpa_efficient') or math_kernel)
    raise ValueError(name)


def kernel(name):
    k = _probed.get(name)
    if k is None:
        raise ValueError(f'attention kernel {name!r} is not available')
    return k


def available():
    """Fused kernels that passed their self-test on this GPU, best first."""
    if not torch.cuda.is_available():
        return []
    for name in ('sdpa_efficient', 'flash_attn'):  # flash wraps the others as its fallback
        if name in _probed or name + '!' in _probed:
            continue
        try:
            k = _build(name)
            _self_test(k)
            _probed[name] = k
            log.info('attention kernel %s: self-test passed', name)
        except Exception as e:  # a missing package or a changed private API: use the next one
            _probed[name + '!'] = None
            log.info('attention kernel %s unavailable: %s', name, e)
    return [n for n in ('flash_attn', 'sdpa_efficient') if n in _probed]
