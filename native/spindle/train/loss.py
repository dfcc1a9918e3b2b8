"""Token-weighted loss: every rank returns its *sum*; the caller divides by the global token
count of the whole step (all SP and DP ranks, all micro-batches), so summing gradients over
ranks gives exactly the gradient of the single-process mean.

Two ways to get from the final hidden states to that sum (`training.loss`):

* materialized: logits = h @ W^T for every local token, then fp32 cross-entropy. Autograd keeps
  the fp32 log-softmax of all T x V logits (about 12 B per logit at the start of backward).
* chunked: `ChunkedHeadLoss` walks the tokens `loss_chunk_tokens` at a time. For each chunk it
  computes the logits, their fp32 log-sum-exp, the loss, and right away the chunk's gradient
  (softmax - one-hot, times the label weight) and its products with W and h. Nothing of size
  T x V outlives a chunk; what is kept for backward is dL/dh (T x hidden) and dL/dW (V x hidden,
  fp32). The gradient is computed in the forward pass (not recomputed in backward) because the
  loss is the last op of the graph: backward only scales the stored gradients by the incoming
  scalar. That costs no extra head matmuls (the planner's model, docs/planner.md §3.6), and under
  ZeRO-3 the head weight need not be gathered a second time for backward.
"""
import torch
import torch.nn.functional as F

LOSS_MODES = ('materialized', 'chunked')


def loss_sum(logits, labels, weights):
    """Sum of weighted next-token cross-entropy, fp32. labels/weights: [B, L] aligned with logits."""
    ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction='none')
    return (ce * weights.reshape(-1).float()).sum()


def materialized_head_loss(h, w, labels, weights):
    return loss_sum(F.linear(h, w), labels, weights)


class ChunkedHeadLoss(torch.autograd.Function):
    """sum_t weights[t] * CE(h[t] @ W^T, labels[t]) over [N, hidden] tokens, chunk by chunk.
    With `with_grad` the forward also produces dL/dh and dL/dW (for an incoming gradient of 1);
    backward multiplies them by the real incoming gradient."""

    @staticmethod
    def forward(ctx, h, w, labels, weights, chunk, with_grad):
        N = h.shape[0]
        total = torch.zeros((), dtype=torch.float32, device=h.device)
        gh = torch.empty_like(h) if with_grad else None
        gw = torch.zeros(w.shape, dtype=torch.float32, device=w.device) if with_grad else None
        for a in range(0, N, chunk):
            b = min(a + chunk, N)
            hc, lab, wt = h[a:b], labels[a:b], weights[a:b].float()
            logits = F.linear(hc, w).float()  # [n, V] fp32 (the one transient of this size)
            lse = torch.logsumexp(logits, dim=-1)
            tgt = logits.gather(1, lab[:, None]).squeeze(1)
            total += ((lse - tgt) * wt).sum()
            if with_grad:
                # d/dlogits of w * (lse - logit[label]) = w * (softmax - onehot), in place.
                g = logits.sub_(lse[:, None]).exp_()
                g[torch.arange(b - a, device=g.device), lab] -= 1.0
                g.mul_(wt[:, None])
                g = g.to(h.dtype)
                gh[a:b] = g @ w
                gw += (g.t() @ hc).float()
            del logits
        if with_grad:
            ctx.save_for_backward(gh, gw)
        ctx.w_dtype = w.dtype
        return total

    @staticmethod
    def backward(ctx, g):
        gh, gw = ctx.saved_tensors
        return gh * g.to(gh.dtype), (gw * g).to(ctx.w_dtype), None, None, None, None


def chunked_head_loss(h, w, labels, weights, chunk=4096):
    """Weighted CE sum like materialized_head_loss, without materializing all logits."""
    if chunk < 1:
        raise ValueError(f'training.loss_chunk_tokens must be >= 1, got {chunk}')
    H = h.shape[-1]
    with_grad = torch.is_grad_enabled() and (h.requires_grad or w.requires_grad)
    return ChunkedHeadLoss.apply(h.reshape(-1, H), w, labels.reshape(-1), weights.reshape(-1), int(chunk), with_grad)


def head_loss_fn(mode, chunk_tokens=4096):
    """The `loss_fn(h, W, labels, weights)` Llama.head_loss calls, for `training.loss`."""
    if mode == 'materialized':
        return materialized_head_loss
    if mode == 'chunked':
        return lambda h, w, labels, weights: chunked_head_loss(h, w, labels, weights, chunk_tokens)
    raise ValueError(f'training.loss {mode!r}: expected one of {", ".join(LOSS_MODES)}')
