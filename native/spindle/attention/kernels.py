"""Pick the attention block kernel for a device: fused CUDA paths when they can serve the block,
PyTorch's flash kernel for CPU on CPU, the math path (the reference) otherwise. Every path has the same contract as math_kernel:
forward(q, k, v, qm, km, scale) -> (out fp32 [B,Hq,Lq,D], lse fp32 [B,Hq,Lq])
backward(dout, q, k, v, out, lse, qm, km, scale) -> (dq, dk, dv) fp32
with q [B,Hq,Lq,D] and k, v [B,Hk,Lk,D].
"""
import os

from . import fused, math_kernel, sdpa_cpu

_FORCED = os.environ.get('SPINDLE_ATTN_KERNEL', '')  # 'math' to force the reference path


class Kernel:
    def __init__(self, name, fwd, bwd):
        self.name, self.forward, self.backward = name, fwd, bwd

    def __repr__(self):
        return f'Kernel({self.name})'


MATH = Kernel('math', math_kernel.forward, math_kernel.backward)
SDPA_CPU = Kernel('sdpa_flash_cpu', sdpa_cpu.forward, sdpa_cpu.backward)


def available(device):
    """Names of the kernels usable on `device`, best first (math is always last)."""
    names = []
    kind = getattr(device, 'type', str(device))
    if kind == 'cuda' and _FORCED != 'math':
        names += fused.available()
    if kind == 'cpu' and _FORCED != 'math' and sdpa_cpu.supported():
        names.append(SDPA_CPU.name)
    return names + ['math']


def get(name):
    if name == 'math':
        return MATH
    if name == SDPA_CPU.name:
        return SDPA_CPU
    return fused.kernel(name)


def select(device, prefer=None):
    names = available(device)
    if prefer:
        if prefer not in names:
            raise ValueError(f'attention kernel {prefer!r} is not available on {device} (available: {", ".join(names)})')
        return get(prefer)
    return get(names[0])
