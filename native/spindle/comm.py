"""Small communication helpers shared by the SP attention and the optimizer."""
import torch
import torch.distributed as dist

from . import compat


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
    compat.free_gloo_temporaries(group, *[t for t in (send, recv) if t is not x and t is not out])
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
