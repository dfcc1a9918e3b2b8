"""Per-step numbers for events: FLOPs/MFU and memory terms measured from tensors."""
import os

import torch
import torch.distributed as dist

# Dense bf16 peak FLOP/s by GPU name fragment (no sparsity). Unknown GPUs and CPUs: mfu null.
PEAK_BF16 = {'H200': 989e12, 'H100': 989e12, 'A100': 312e12, 'L40S': 362e12, 'A10G': 125e12, 'L4': 121e12, 'RTX 4090': 165e12}


def flops_per_token(args, seq_len):
    """Model FLOPs per trained token: 6 x matmul params + causal attention (half the scores)."""
    a = args
    per_layer = a.hidden * (a.heads + 2 * a.kv_heads) * a.head_dim + a.heads * a.head_dim * a.hidden + 3 * a.hidden * a.ffn
    dense = a.layers * per_layer + a.hidden * a.vocab
    attn = a.layers * 2 * 2 * a.heads * a.head_dim * seq_len / 2  # QK^T and PV, causal half, fwd
    return 6 * dense + 3 * attn


def peak_flops(device, precision):
    if device.type != 'cuda' or precision != 'bf16':
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def rss_bytes():
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _cuda_facts(device, measured):
    """Allocator and device figures on CUDA: the step's peak allocated and reserved (from the
    accounting trace when it ran, since that resets the peak counters per window), what is
    reserved now, and what the whole device has in use (CUDA context, libraries, NCCL and the
    allocator's pool) - the runtime side of the planner's framework / nccl / fragmentation."""
    free, total = torch.cuda.mem_get_info(device)
    trace = (measured or {}).get('cuda') or {}
    return {'max_allocated': trace.get('max_allocated', torch.cuda.max_memory_allocated(device)),
            'max_reserved': trace.get('max_reserved', torch.cuda.max_memory_reserved(device)),
            'reserved': torch.cuda.memory_reserved(device), 'device_used': total - free}


def local_memory(opt, device, measured=None):
    """This rank's `memory` event body. With the accounting of a measured step (spindle.accounting),
    `terms` are every measured term at the moment `phase`, `phases` has both moments the planner
    defines (docs/planner.md §2.2), `saved` the saved-for-backward bytes by region and `peaks` the
    allocated bytes at each moment. Without it, only the state terms."""
    states = opt.memory_terms()
    body = {'rss_bytes': rss_bytes(), 'cuda': _cuda_facts(device, measured) if device.type == 'cuda' else None}
    if not measured:
        return {'terms': {k: int(states[k]) for k in ('weights', 'grads', 'optimizer', 'comm_buffers')}, **body}
    phases = {ph: {k: int(v) for k, v in terms.items()} for ph, terms in measured['phases'].items()}
    return {'terms': phases[measured['phase']], 'phase': measured['phase'], 'phases': phases,
            'saved': measured['saved'], 'peaks': measured['peaks'], **body}


def gather_memory(opt, device, world, measured=None):
    """Every rank's memory event body (local_memory), as a list indexed by rank."""
    mine = local_memory(opt, device, measured)
    if world == 1:
        return [mine]
    out = [None] * world
    dist.all_gather_object(out, mine)
    return out
