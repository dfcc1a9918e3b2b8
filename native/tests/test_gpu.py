"""Fused CUDA attention paths against the math path (run on a GPU node; skipped without CUDA)."""
import pytest
import torch

from spindle.attention import fused, kernels, math_kernel
from spindle.attention.meta import TokenMeta

pytestmark = pytest.mark.gpu
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')


@needs_cuda
@pytest.mark.parametrize('name', ['sdpa_efficient', 'flash_attn'])
def test_fused_kernel_matches_math(name):
    if name not in fused.available():
        pytest.skip(f'{name} not available on this node')
    kern = kernels.get(name)
    g = torch.Generator().manual_seed(0)
    B, Hq, Hk, L, D = 2, 8, 2, 256, 64
    mk = lambda *s: torch.randn(*s, generator=g).cuda().bfloat16()
    q, k, v, do = mk(B, Hq, L, D), mk(B, Hk, L, D), mk(B, Hk, L, D), mk(B, Hq, L, D)
    seq = torch.arange(L, device='cuda').expand(B, L)
    cases = {'causal': TokenMeta(seq, torch.zeros_like(seq)), 'documents': TokenMeta(seq, (seq // 70).long())}
    for what, m in cases.items():
        o_ref, l_ref = math_kernel.forward(q, k, v, m, m, D ** -0.5)
        o, l = kern.forward(q, k, v, m, m, D ** -0.5)
        assert torch.allclose(o, o_ref, atol=2e-2, rtol=2e-2), what
        assert torch.allclose(l, l_ref, atol=2e-2, rtol=2e-2), what
        ref = math_kernel.backward(do, q, k, v, o_ref, l_ref, m, m, D ** -0.5)
        got = kern.backward(do, q, k, v, o_ref, l_ref, m, m, D ** -0.5)
        for a, b in zip(got, ref):
            assert torch.allclose(a, b, atol=5e-2, rtol=5e-2), what


@needs_cuda
def test_cuda_selects_a_fused_kernel_or_says_why():
    names = kernels.available(torch.device('cuda'))
    assert names[-1] == 'math'
    assert 'sdpa_efficient' in names, 'torch >= 2.4 on CUDA should pass the efficient-attention self-test'
