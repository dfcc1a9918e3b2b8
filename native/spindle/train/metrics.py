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


TERMS = ('weights', 'grads', 'optimizer', 'comm_buffers')


def gather_memory(opt, device, world):
    """Every rank's measured terms, plus rss and CUDA peaks, as a list indexed by rank."""
    t = opt.memory_terms()
    rss = rss_bytes() or -1
    cuda = (torch.cuda.max_memory_allocated(device), torch.cuda.memory_reserved(device)) if device.type == 'cuda' else (-1, -1)
    vec = torch.tensor([float(t[k]) for k in TERMS] + [float(rss), float(cuda[0]), float(cuda[1])], dtype=torch.float64, device=device)
    if world > 1:
        outs = [torch.empty_like(vec) for _ in range(world)]
        dist.all_gather(outs, vec)
    else:
        outs = [vec]
    res = []
    for o in outs:
        v = o.cpu().tolist()
        res.append({'terms': {k: int(v[i]) for i, k in enumerate(TERMS)},
                    'rss_bytes': int(v[4]) if v[4] >= 0 else None,
                    'cuda': {'max_allocated': int(v[5]), 'reserved': int(v[6])} if v[5] >= 0 else None})
    return res
