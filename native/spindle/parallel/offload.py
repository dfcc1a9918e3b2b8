"""Activation offload (`parallel.offload.activations`) for checkpointed regions.

With checkpointing, what a region keeps for backward is its input (a block's input under `full`,
the MLP's input under `selective`). `OffloadedCheckpoint` is a checkpoint that keeps that input
in host memory instead: forward runs the region without building a graph and copies the input
to (pinned) host memory — asynchronously, on the compute stream, so the device buffer can be
reused by later kernels only after the copy — and backward copies it back, reruns the region
with grad and differentiates it.

The region's parameters are explicit inputs of the Function, so their gradients leave through
its backward like any input's: the function works under loss.backward() (gradients accumulate
in .grad) and inside torch.autograd.grad (ZeRO-3's gathered calls capture them there), which
torch's reentrant checkpoint does not allow.

On CPU host memory is device memory: the input stays where it is and this is a plain
checkpoint. There is no prefetch: the copy back is issued when the region's backward starts.
"""
import torch


def _to_host(x):
    if x.device.type == 'cpu':
        return x.detach()
    buf = torch.empty(x.shape, dtype=x.dtype, pin_memory=True)
    buf.copy_(x.detach(), non_blocking=True)
    return buf


class OffloadedCheckpoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx, fn, n_params, x, *rest):
        params = rest[len(rest) - n_params:]
        args = rest[:len(rest) - n_params]
        with torch.no_grad():
            out = fn(x, *args)
        ctx.fn, ctx.args, ctx.params = fn, args, params
        ctx.x_host, ctx.device, ctx.x_grad = _to_host(x), x.device, x.requires_grad
        return out

    @staticmethod
    def backward(ctx, gout):
        x = ctx.x_host.to(ctx.device, non_blocking=True).detach().requires_grad_(ctx.x_grad)
        ctx.x_host = None
        with torch.enable_grad():
            out = ctx.fn(x, *ctx.args)
        wanted = ([x] if ctx.x_grad else []) + [p for p in ctx.params if p.requires_grad]
        grads = list(torch.autograd.grad(out, wanted, gout, allow_unused=True))
        gx = grads.pop(0) if ctx.x_grad else None
        it = iter(grads)
        gp = [next(it) if p.requires_grad else None for p in ctx.params]
        return (None, None, gx) + (None,) * len(ctx.args) + tuple(gp)


def offloaded(fn, module):
    """fn(x, *args) with its input x kept in host memory between forward and backward."""
    params = [p for p in module.parameters()]

    def run(x, *args):
        if not torch.is_grad_enabled():
            return fn(x, *args)
        return OffloadedCheckpoint.apply(fn, len(params), x, *args, *params)
    return run
