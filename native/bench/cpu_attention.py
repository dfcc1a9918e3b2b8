"""CPU attention kernels, in one run: the math kernel (the reference) against PyTorch's flash
kernel for CPU (what the runtime now selects on CPU), forward + backward of one causal block with
GQA, for a few sequence lengths. Reports median time and the peak bytes each allocates beyond
its inputs (the CPU profiler's allocation events), and the ratios flash / math.

    python native/bench/cpu_attention.py [--seq 512,1024,2048] [--threads N] [--json OUT]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))

import torch  # noqa: E402

from spindle.accounting.alloc import CpuTrace  # noqa: E402
from spindle.attention import kernels  # noqa: E402
from spindle.attention.meta import TokenMeta  # noqa: E402


def step(kern, q, k, v, m, scale):
    out, lse = kern.forward(q, k, v, m, m, scale)
    return kern.backward(out.to(q.dtype), q, k, v, out, lse, m, m, scale)


def measure(kern, L, dtype, repeats):
    g = torch.Generator().manual_seed(L)
    B, Hq, Hk, D = 1, 8, 2, 64
    q, k, v = (torch.randn(B, h, L, D, generator=g).to(dtype) for h in (Hq, Hk, Hk))
    m = TokenMeta(torch.arange(L)[None], torch.zeros(1, L, dtype=torch.long))
    scale = D ** -0.5
    step(kern, q, k, v, m, scale)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step(kern, q, k, v, m, scale)
        times.append(time.perf_counter() - t0)
    with CpuTrace() as tr:
        step(kern, q, k, v, m, scale)
    return statistics.median(times), tr.windows()['step'][1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seq', default='512,1024,2048')
    ap.add_argument('--threads', type=int, default=1, help='torch threads (training processes run 1 each)')
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--json')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rows = []
    for dtype in (torch.float32, torch.bfloat16):
        for L in map(int, a.seq.split(',')):
            tm, pm = measure(kernels.MATH, L, dtype, a.repeats)
            tf, pf = measure(kernels.SDPA_CPU, L, dtype, a.repeats)
            rows.append({'dtype': str(dtype).split('.')[-1], 'seq': L, 'math_s': tm, 'flash_s': tf, 'math_peak': pm,
                         'flash_peak': pf, 'time_ratio': tf / tm, 'peak_ratio': pf / pm})
    print(f'{"dtype":9} {"seq":>6} {"math ms":>9} {"flash ms":>9} {"time":>6} {"math MiB":>9} {"flash MiB":>9} {"peak":>6}')
    for r in rows:
        print(f'{r["dtype"]:9} {r["seq"]:6} {r["math_s"] * 1e3:9.1f} {r["flash_s"] * 1e3:9.1f} {r["time_ratio"]:6.2f} '
              f'{r["math_peak"] / 2**20:9.2f} {r["flash_peak"] / 2**20:9.2f} {r["peak_ratio"]:6.3f}')
    if a.json:
        meta = {'machine': f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores',
                'cpu': _cpu_model(), 'threads': a.threads, 'torch': torch.__version__,
                'date': datetime.date.today().isoformat(), 'command': ' '.join(sys.argv)}
        with open(a.json, 'w') as f:
            json.dump({'meta': meta, 'rows': rows}, f, indent=1)


def _cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            return next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
    except (OSError, StopIteration):
        return platform.processor()


if __name__ == '__main__':
    main()
