"""Turn a plain model into a parallel one, torchtitan style: the model code stays untouched and
this step swaps in sequence-parallel attention and activation checkpointing. Data parallelism
and ZeRO live in the optimizer (spindle.optim.zero), which owns gradient reduction."""
import torch.utils.checkpoint

from ..attention import kernels
from ..attention.sp import ChunkedSPAttention, LocalAttention, SequenceParallelAttention
from ..attention.ulysses import check_heads
from .offload import offloaded

CHECKPOINTING = ('none', 'full', 'selective')


def _checkpointed(fn):
    # Non-reentrant: works with autograd Functions that communicate (they rerun in the same order
    # on every rank) and with inputs that do not require grad. Looked up at call time, so the
    # accounting's census can run the region plainly (accounting/saved.py).
    def run(*args):
        return torch.utils.checkpoint.checkpoint(fn, *args, use_reentrant=False)
    return run


def apply_checkpointing(model, policy, offload_activations=False):
    """full: each block's forward is recomputed in backward (only block inputs are kept).
    selective: only each block's SwiGLU MLP is recomputed; attention keeps its q, k, v, out and
    lse (already the minimum, flash style), so the big ffn-wide activations are what is saved.
    offload_activations: the kept region inputs wait for backward in host memory (offload.py).
    Forwards are replaced on the instances, so parameter names do not change."""
    if policy not in CHECKPOINTING:
        raise ValueError(f'parallel.checkpointing {policy!r}: expected one of {", ".join(CHECKPOINTING)}')
    if policy == 'none':
        if offload_activations:
            raise ValueError('parallel.offload.activations moves what checkpointing keeps to host memory: it needs '
                             'parallel.checkpointing full or selective')
        return model
    for block in model.layers:
        target = block if policy == 'full' else block.mlp
        target.forward = offloaded(target.forward, target) if offload_activations else _checkpointed(target.forward)
        block.spindle_recompute = True  # ZeRO-3 gathers this block's weights before its backward
    return model


def parallelize(model, mesh, ring_variant='zigzag', checkpointing='none', kernel_name=None, device=None, chunks=1,
                offload_activations=False):
    """chunks > 1: FPDT-style attention (attention/chunked.py); the data must then be laid out
    with layout.attn_context(..., chunks) too."""
    a = model.args
    check_heads(a.heads, a.kv_heads, mesh.ulysses)
    kern = kernels.select(device, kernel_name) if device is not None else None
    for block in model.layers:
        if chunks > 1:
            block.attn.attention_op = ChunkedSPAttention(mesh.ulysses_group, mesh.ulysses, mesh.ring_comm(), chunks, kern)
        elif mesh.sp > 1:
            block.attn.attention_op = SequenceParallelAttention(mesh.ulysses_group, mesh.ulysses, mesh.ring_comm(), kern)
        else:
            block.attn.attention_op = LocalAttention(kern)
    apply_checkpointing(model, checkpointing, offload_activations)
    return model
