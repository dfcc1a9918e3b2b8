"""Chunked LM head + cross-entropy (training.loss: chunked) against the materialized loss on the
same model: the loss and the gradient of every parameter agree to 1e-6 relative in fp32, with
SFT-style masked labels, tied and untied embeddings, chunk sizes that do and do not divide the
token count; no T x V fp32 tensor is allocated at once."""
import copy

import pytest
import torch

import sp_cases as C
from spindle.model import Llama, ModelArgs
from spindle.train.loss import chunked_head_loss, head_loss_fn, materialized_head_loss


def _run(model, batch, loss_fn):
    tokens, labels, weights, doc, pos = batch
    B, L = tokens.shape
    ctx = C.AttnContext.single(torch.arange(L).expand(B, L), doc)
    model.zero_grad(set_to_none=True)
    s = model.head_loss(model.trunk(tokens, pos, ctx), labels, weights, loss_fn)
    loss = s / weights.sum()
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


def _rel(a, b):
    return (a - b).abs().max().item() / max(b.abs().max().item(), 1e-30)


@pytest.mark.parametrize('tied', [False, True])
def test_chunked_equals_materialized(tied):
    args = ModelArgs(layers=2, hidden=32, heads=4, kv_heads=2, head_dim=8, ffn=48, vocab=97, rope_theta=1e4,
                     tie_embeddings=tied)
    torch.manual_seed(3 + tied)
    model = Llama(args)
    batch = C.random_batch(11 + tied, 3, 40, args.vocab)  # 120 tokens; ~20% of labels masked out
    batch[2][0, :17] = 0.0  # an SFT prompt: a run of masked labels across a chunk edge
    ref_loss, ref_grads = _run(copy.deepcopy(model), batch, materialized_head_loss)
    for chunk in (1, 7, 32, 120, 1000):
        loss, grads = _run(copy.deepcopy(model), batch, head_loss_fn('chunked', chunk))
        assert _rel(loss, ref_loss) <= 1e-6, (chunk, loss, ref_loss)
        for n in ref_grads:
            assert _rel(grads[n], ref_grads[n]) <= 1e-6, (chunk, n, _rel(grads[n], ref_grads[n]))


def test_weighted_sum_and_incoming_gradient_direct():
    """The op alone: arbitrary positive weights (not just 0/1) and an incoming gradient != 1."""
    g = torch.Generator().manual_seed(5)
    h = torch.randn(50, 16, generator=g, dtype=torch.float64).float().requires_grad_()
    w = (torch.randn(23, 16, generator=g) * 0.3).requires_grad_()
    labels = torch.randint(0, 23, (50,), generator=g)
    weights = torch.rand(50, generator=g) * (torch.rand(50, generator=g) > 0.3)
    ref = materialized_head_loss(h, w, labels, weights)
    (ref * 0.37).backward()
    rh, rw = h.grad.clone(), w.grad.clone()
    h.grad = w.grad = None
    got = chunked_head_loss(h, w, labels, weights, 9)
    (got * 0.37).backward()
    assert _rel(got.detach(), ref.detach()) <= 1e-6
    assert _rel(h.grad, rh) <= 1e-6 and _rel(w.grad, rw) <= 1e-6


def test_no_grad_and_peak_tensor_size(monkeypatch):
    """Under no_grad nothing is kept; the largest fp32 logits tensor is chunk x vocab."""
    import spindle.train.loss as L
    g = torch.Generator().manual_seed(6)
    h, w = torch.randn(64, 8, generator=g), torch.randn(31, 8, generator=g)
    labels, weights = torch.randint(0, 31, (64,), generator=g), torch.ones(64)
    seen = []
    real = L.F.linear
    monkeypatch.setattr(L.F, 'linear', lambda x, W, *a: seen.append(x.shape[0]) or real(x, W, *a))
    with torch.no_grad():
        a = chunked_head_loss(h, w, labels, weights, 16)
    assert seen == [16, 16, 16, 16]
    assert abs(a.item() - materialized_head_loss(h, w, labels, weights).item()) <= 1e-5 * a.item()


def test_bf16_close():
    """bf16 compute: same loss to bf16 rounding (the exact check is the fp32 one above)."""
    g = torch.Generator().manual_seed(7)
    h = torch.randn(40, 16, generator=g).bfloat16().requires_grad_()
    w = (torch.randn(29, 16, generator=g) * 0.2).bfloat16().requires_grad_()
    labels, weights = torch.randint(0, 29, (40,), generator=g), torch.ones(40)
    ref = materialized_head_loss(h, w, labels, weights)
    ref.backward()
    rh, rw = h.grad.float(), w.grad.float()
    h.grad = w.grad = None
    got = chunked_head_loss(h, w, labels, weights, 16)
    got.backward()
    assert got.dtype == torch.float32
    assert _rel(got.detach(), ref.detach()) <= 1e-5
    assert _rel(h.grad.float(), rh) <= 2e-2 and _rel(w.grad.float(), rw) <= 2e-2


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match='training.loss'):
        head_loss_fn('fused')
