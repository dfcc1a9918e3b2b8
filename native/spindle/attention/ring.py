"""Ring attention: every ring rank keeps its queries, KV blocks travel around the ring.

Forward: R steps; at step s this rank holds the KV of ring rank (me - s) mod R, computes that
block (only its active rows/columns, see meta.active_range) and merges the partial (out, lse)
into fp32 accumulators with log-sum-exp weights. The next block's transfer overlaps the compute.
Backward: KV travels again, with an fp32 dK/dV accumulator riding along; each rank adds its
share for the block it holds, and one last hop returns every accumulator to its owner.
With R == 1 this is plain local attention with the kernel's explicit backward.
"""
import torch

KV_TAG, DKV_TAG = 11, 12


def merge(out_acc, lse_acc, out, lse):
    """In-place fp32 online-softmax merge of a partial result into the accumulators."""
    new = torch.logaddexp(lse_acc, lse)
    safe = torch.where(torch.isinf(new), torch.zeros_like(new), new)  # both -inf: keep zeros
    w_old = torch.exp(lse_acc - safe)
    w_new = torch.exp(lse - safe)
    out_acc.mul_(w_old[..., None]).add_(out * w_new[..., None])
    lse_acc.copy_(new)


class RingAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, attn_ctx, comm, kernel, scale):
        R = comm.size if comm is not None else 1
        me = attn_ctx.ring_rank
        B, H, L, D = q.shape
        out_acc = torch.zeros(B, H, L, D, dtype=torch.float32, device=q.device)
        lse_acc = torch.full((B, H, L), float('-inf'), dtype=torch.float32, device=q.device)
        kv = torch.stack([k, v])
        for s in range(R):
            src = (me - s) % R
            wait = comm.shift(kv, KV_TAG) if s < R - 1 else None
            rng = attn_ctx.ranges[src]
            if rng is not None:
                q0, q1, k0, k1 = rng
                o, l = kernel.forward(q[:, :, q0:q1], kv[0][:, :, k0:k1], kv[1][:, :, k0:k1],
                                      attn_ctx.ring[me].slice(q0, q1), attn_ctx.ring[src].slice(k0, k1), scale)
                merge(out_acc[:, :, q0:q1], lse_acc[:, :, q0:q1], o, l)
            if wait is not None:
                kv = wait()
        ctx.save_for_backward(q, k, v, out_acc, lse_acc)
        ctx.attn_ctx, ctx.comm, ctx.kernel, ctx.scale = attn_ctx, comm, kernel, scale
        return out_acc.to(q.dtype)

    @staticmethod
    def backward(ctx, dout):
        q, k, v, out, lse = ctx.saved_tensors
        attn_ctx, comm, kernel, scale = ctx.attn_ctx, ctx.comm, ctx.kernel, ctx.scale
        R = comm.size if comm is not None else 1
        me = attn_ctx.ring_rank
        dq = torch.zeros(q.shape, dtype=torch.float32, device=q.device)
        dkv = torch.zeros((2,) + tuple(k.shape), dtype=torch.float32, device=q.device)
        kv = torch.stack([k, v])
        for s in range(R):
            src = (me - s) % R
            wait_kv = comm.shift(kv, KV_TAG) if s < R - 1 else None
            rng = attn_ctx.ranges[src]
            if rng is not None:
                q0, q1, k0, k1 = rng
                gq, gk, gv = kernel.backward(dout[:, :, q0:q1], q[:, :, q0:q1], kv[0][:, :, k0:k1], kv[1][:, :, k0:k1],
                                             out[:, :, q0:q1], lse[:, :, q0:q1], attn_ctx.ring[me].slice(q0, q1),
                                             attn_ctx.ring[src].slice(k0, k1), scale)
                dq[:, :, q0:q1] += gq
                dkv[0][:, :, k0:k1] += gk
                dkv[1][:, :, k0:k1] += gv
            if R > 1:
                # The accumulator follows its KV block; after the last step one more hop brings
                # each block's finished gradient home (src of step R-1 is me + 1).
                dkv = comm.shift(dkv, DKV_TAG)()
            if wait_kv is not None:
                kv = wait_kv()
        return dq.to(q.dtype), dkv[0].to(k.dtype), dkv[1].to(v.dtype), None, None, None, None
