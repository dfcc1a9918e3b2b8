"""Small communication helpers shared by the SP attention and the optimizer."""
import torch
import torch.distributed as dist


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
        t.untyped_storage().resize_(0)


def reduce_scatter_sum(output, input_flat, group):
    """Sum-reduce `input_flat` over `group` and leave this rank's equal slice in `output`.
    NCCL does it natively. On gloo, which gained reduce_scatter_tensor only in later 2.x releases
    (torch 2.4 has none), it all-reduces a copy and keeps the slice: same result, more traffic,
    and the same bytes on every supported torch, which the planner's accounting relies on."""
    if dist.get_backend(group) == 'nccl':
        dist.reduce_scatter_tensor(output, input_flat, group=group)
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
        dist.all_gather_into_tensor(output_flat, shard, group=group)
        return
    n = shard.numel()
    outs = list(output_flat.split(n))
    # Gloo copies the input into every output slot; a private input avoids aliasing our own slot.
    own = shard.clone()
    dist.all_gather(outs, own, group=group)
    free_gloo_temporaries(group, own)


def wire_dtype(dtype, group):
    """Gloo (CPU) cannot reduce or move bfloat16/float16; those travel as fp32 there."""
    if group is not None and dist.get_backend(group) == 'gloo' and dtype in (torch.bfloat16, torch.float16):
        return torch.float32
    return dtype


def all_to_all(x, group):
    """all_to_all_single over dim 0 of a contiguous tensor (chunk i goes to group rank i)."""
    wd = wire_dtype(x.dtype, group)
    send = x.to(wd).contiguous()
    recv = torch.empty_like(send)
    dist.all_to_all_single(recv, send, group=group)
    out = recv.to(x.dtype)
    free_gloo_temporaries(group, *[t for t in (send, recv) if t is not x and t is not out])
    return out


class RingComm:
    """Neighbour exchange inside one ring group: send to rank+1, receive from rank-1."""

    def __init__(self, group, ranks):
        self.group = group
        self.ranks = list(ranks)  # global ranks, in ring order
        self.size = len(self.ranks)
        self.rank = self.ranks.index(dist.get_rank()) if self.size > 1 else 0
        self.next = self.ranks[(self.rank + 1) % self.size]
        self.prev = self.ranks[(self.rank - 1) % self.size]

    def shift(self, tensor, tag):
        """Start sending `tensor` forward and receiving its counterpart from behind.
        Returns (recv_buffer, wait_fn). Batched so NCCL posts both sides together (no deadlock);
        the tag keeps the KV and the dKV streams apart on gloo, which matches by order per tag."""
        wd = wire_dtype(tensor.dtype, self.group)
        send = tensor.to(wd).contiguous()
        recv = torch.empty_like(send)
        ops = [dist.P2POp(dist.isend, send, self.next, self.group, tag),
               dist.P2POp(dist.irecv, recv, self.prev, self.group, tag)]
        reqs = dist.batch_isend_irecv(ops)

        def wait():
            for r in reqs:
                r.wait()
            return recv.to(tensor.dtype)
        return wait
