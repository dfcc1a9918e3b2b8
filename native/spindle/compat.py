"""Guards for APIs that differ between torch 1.13 (Debian, CPU tests) and torch 2.x (GPU nodes)."""
import torch
import torch.distributed as dist

TORCH_VERSION = tuple(int(p) for p in torch.__version__.split('+')[0].split('.')[:2] if p.isdigit())


def checkpoint(fn, *args):
    """Non-reentrant activation checkpointing: works with autograd Functions that communicate
    (they rerun in the same order on every rank) and with inputs that do not require grad."""
    from torch.utils.checkpoint import checkpoint as _ckpt
    return _ckpt(fn, *args, use_reentrant=False)


def storage_ptr(t):
    """Data pointer of the storage behind `t` (views share it): untyped_storage on 2.x, where
    .storage() warns; TypedStorage on 1.13."""
    s = t.untyped_storage() if hasattr(t, 'untyped_storage') else t.storage()
    return s.data_ptr()


def free_gloo_temporaries(group, *tensors):
    """Free the memory of temporaries just handed to a finished gloo collective, now, on this thread.

    Gloo runs a collective on its own worker thread, which keeps a reference to the tensors and
    drops it some time after the caller has been woken. When that reference is the last, the
    memory is freed on gloo's thread, at a moment that varies from run to run and where the CPU
    profiler (what accounting reads) does not see it: the step's live bytes then stay high. Only
    for tensors the caller made and owns whole; a no-op for other backends (NCCL works on streams,
    where freeing early would be unsafe)."""
    if dist.get_backend(group) != 'gloo':
        return
    for t in tensors:
        s = t.untyped_storage() if hasattr(t, 'untyped_storage') else t.storage()
        s.resize_(0)


def pin(t):
    """Page-locked host copy when CUDA is there (fast, async-capable copies); plain otherwise."""
    t = t.cpu()
    return t.pin_memory() if torch.cuda.is_available() else t


def reduce_scatter_sum(output, input_flat, group):
    """Sum-reduce `input_flat` over `group` and leave this rank's equal slice in `output`.
    NCCL has a native op (named differently in 1.13 and 2.x); gloo has none, so it all-reduces a
    copy and keeps the slice (same result, more traffic)."""
    if dist.get_backend(group) == 'nccl':
        if hasattr(dist, 'reduce_scatter_tensor'):
            dist.reduce_scatter_tensor(output, input_flat, group=group)
        else:
            dist._reduce_scatter_base(output, input_flat, group=group)
        return
    buf = input_flat.clone()
    dist.all_reduce(buf, group=group)
    n = output.numel()
    r = dist.get_rank(group)
    output.copy_(buf[r * n:(r + 1) * n])
    free_gloo_temporaries(group, buf)


def all_gather_into(output_flat, shard, group):
    """Gather equal shards from every rank of `group` into `output_flat` in rank order."""
    if dist.get_backend(group) == 'nccl':
        if hasattr(dist, 'all_gather_into_tensor'):
            dist.all_gather_into_tensor(output_flat, shard, group=group)
        else:
            dist._all_gather_base(output_flat, shard, group=group)
        return
    n = shard.numel()
    outs = list(output_flat.split(n))
    # Gloo copies the input into every output slot; a private input avoids aliasing our own slot.
    own = shard.clone()
    dist.all_gather(outs, own, group=group)
    free_gloo_temporaries(group, own)
