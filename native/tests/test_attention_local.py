"""The local attention block (math path, explicit backward) against plain autograd softmax
attention, the block-merge algebra ring attention relies on, and the active-range pruning."""
import os

import pytest
import torch

from spindle.attention import kernels, math_kernel
from spindle.attention.meta import AttnContext, TokenMeta, active_range, allowed, block_kind
from spindle.attention.ring import merge
from spindle.attention.sp import LocalAttention
from spindle.data.packing import doc_positions
from spindle.parallel.layout import ring_shard_indices


def naive(q, k, v, qm, km, scale):
    """Textbook attention with autograd: repeat KV heads, mask, softmax."""
    G = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(G, 1), v.repeat_interleave(G, 1)
    s = (q @ k.transpose(-1, -2)) * scale
    s = s.masked_fill(~allowed(qm, km)[:, None], float('-inf'))
    return torch.softmax(s, -1) @ v


def inputs(B=2, Hq=4, Hk=2, L=24, D=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(B, h, L, D, generator=g, dtype=torch.float64) for h in (Hq, Hk, Hk))
    starts = torch.rand(B, L, generator=g) < 0.2
    starts[:, 0] = True
    doc = torch.cumsum(starts.long(), 1) - 1
    return q, k, v, TokenMeta(torch.arange(L).expand(B, L), doc)


def test_forward_backward_match_autograd_with_gqa_and_documents():
    q, k, v, m = inputs()
    scale = q.shape[-1] ** -0.5
    out, lse = math_kernel.forward(q, k, v, m, m, scale)
    qa, ka, va = (x.clone().requires_grad_() for x in (q, k, v))
    ref = naive(qa, ka, va, m, m, scale)
    assert torch.allclose(out.double(), ref, atol=1e-5)
    dout = torch.randn_like(ref)
    ref.backward(dout)
    dq, dk, dv = math_kernel.backward(dout, q, k, v, out, lse, m, m, scale)
    for a, b in ((dq, qa.grad), (dk, ka.grad), (dv, va.grad)):
        assert torch.allclose(a.double(), b, atol=1e-5)


def test_two_key_blocks_merged_equal_one_block():
    q, k, v, m = inputs(L=32, seed=1)
    scale = 0.3
    whole, lse_whole = math_kernel.forward(q, k, v, m, m, scale)
    acc = torch.zeros_like(whole)
    lse = torch.full_like(lse_whole, float('-inf'))
    for a, b in ((16, 32), (0, 16)):  # order must not matter
        o, l = math_kernel.forward(q, k[:, :, a:b], v[:, :, a:b], m, m.slice(a, b), scale)
        merge(acc, lse, o, l)
    assert torch.allclose(acc, whole, atol=1e-6) and torch.allclose(lse, lse_whole, atol=1e-6)


def test_local_attention_op_matches_autograd():
    q, k, v, m = inputs(B=1, L=20, seed=2)
    t = lambda x: x.transpose(1, 2).float().clone().requires_grad_()
    qa, ka, va = t(q), t(k), t(v)
    ctx = AttnContext.single(m.seq, m.doc)
    out = LocalAttention(kernels.MATH)(qa, ka, va, ctx)
    qb, kb, vb = t(q), t(k), t(v)
    ref = naive(qb.transpose(1, 2), kb.transpose(1, 2), vb.transpose(1, 2), m, m, q.shape[-1] ** -0.5).transpose(1, 2)
    assert torch.allclose(out, ref, atol=1e-5)
    w = torch.randn_like(ref)
    (out * w).sum().backward()
    (ref * w).sum().backward()
    for a, b in ((qa, qb), (ka, kb), (va, vb)):
        assert torch.allclose(a.grad, b.grad, atol=1e-5)


def test_active_range_prunes_zigzag_blocks_to_halves():
    R, L = 4, 64
    meta = lambda r: TokenMeta(ring_shard_indices(L, R, r, 'zigzag')[None], torch.zeros(1, L // R, dtype=torch.long))
    n = L // R
    assert active_range(meta(2), meta(2)) == (0, n, 0, n)
    assert active_range(meta(2), meta(0)) == (0, n, 0, n // 2)  # earlier rank: first key chunk only
    assert active_range(meta(0), meta(3)) == (n // 2, n, 0, n)  # later rank: second query chunk only
    contiguous = lambda r: TokenMeta(ring_shard_indices(L, R, r, 'contiguous')[None], torch.zeros(1, n, dtype=torch.long))
    assert active_range(contiguous(0), contiguous(1)) is None


def test_active_range_skips_other_documents():
    seq = torch.arange(8)[None]
    q = TokenMeta(seq[:, 4:], torch.tensor([[1, 1, 2, 2]]))
    k = TokenMeta(seq[:, :4], torch.tensor([[0, 0, 1, 1]]))
    assert active_range(q, k) == (0, 2, 2, 4)
    assert active_range(TokenMeta(seq[:, 4:], torch.full((1, 4), 3)), k) is None


def test_doc_positions_restart_per_document():
    doc = torch.tensor([[0, 0, 0, 1, 1, 2, 2, 2]])
    assert doc_positions(doc).tolist() == [[0, 1, 2, 0, 1, 0, 1, 2]]


def test_cpu_picks_the_flash_kernel_and_math_stays_selectable():
    assert kernels.available(torch.device('cpu')) == ['sdpa_flash_cpu', 'math']
    assert kernels.select(torch.device('cpu')).name == 'sdpa_flash_cpu'
    assert kernels.select(torch.device('cpu'), 'math') is kernels.MATH
    with pytest.raises(ValueError, match='not available'):
        kernels.select(torch.device('cpu'), 'flash_attn')


BLOCKS = [(0, 40, 0, 40), (20, 40, 0, 20), (10, 30, 5, 25), (0, 20, 0, 20)]


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])  # both computed in fp32, as math does
@pytest.mark.parametrize('kv_heads', [4, 2, 1])
@pytest.mark.parametrize('packed', [False, True])
def test_cpu_flash_kernel_matches_math_on_every_kind_of_block(dtype, kv_heads, packed):
    """Full, causal and masked blocks (packed documents, rows with no key in the block), GQA, with
    the merged (out, lse) handed to backward as the ring does; fresh inputs each run."""
    seed = int.from_bytes(os.urandom(4), 'little')
    g = torch.Generator().manual_seed(seed)
    B, Hq, L, D = 2, 4, 40, 8
    q, k, v = (torch.randn(B, h, L, D, generator=g).to(dtype) for h in (Hq, kv_heads, kv_heads))
    starts = torch.rand(B, L, generator=g) < (0.15 if packed else 0.0)
    starts[:, 0] = True
    m = TokenMeta(torch.arange(L).expand(B, L), torch.cumsum(starts.long(), 1) - 1)
    # Relative to the reference, floored at 1: a block whose rows each see one key has gradients that
    # cancel to rounding noise (~1e-6) on both sides, where a plain ratio means nothing.
    rel = lambda a, b: ((a.double() - b.double()).norm() / max(b.double().norm(), 1.0)).item()  # noqa: E731
    rtol = 1e-5
    for q0, q1, k0, k1 in BLOCKS:
        qm, km = m.slice(q0, q1), m.slice(k0, k1)
        args = (q[:, :, q0:q1], k[:, :, k0:k1], v[:, :, k0:k1])
        out, lse = math_kernel.forward(*args, qm, km, 0.3)
        o, l = kernels.SDPA_CPU.forward(*args, qm, km, 0.3)
        seen = torch.isfinite(lse)
        assert torch.equal(torch.isfinite(l), seen), seed
        assert rel(o, out) < rtol and rel(l[seen], lse[seen]) < rtol, (seed, (q0, q1, k0, k1))
        dout = torch.randn(out.shape, generator=g).to(dtype)
        ref = math_kernel.backward(dout, *args, out, lse, qm, km, 0.3)
        got = kernels.SDPA_CPU.backward(dout, *args, out, lse, qm, km, 0.3)
        for a, b in zip(got, ref):
            assert a.dtype == torch.float32 and rel(a, b) < rtol, (seed, (q0, q1, k0, k1))


def test_cpu_flash_kernel_blocks_need_a_mask_only_where_documents_cut_them():
    L = 16
    one = TokenMeta(torch.arange(L)[None], torch.zeros(1, L, dtype=torch.long))
    assert block_kind(one, one) == 'causal'
    assert block_kind(one.slice(8, 16), one.slice(0, 8)) == 'full'
    assert block_kind(one.slice(4, 12), one.slice(0, 8)) is None  # overlapping, not square
    two = TokenMeta(one.seq, (one.seq >= 5).long())
    assert block_kind(two, two) is None
