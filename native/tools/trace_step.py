"""Where one measured step's memory goes, op by op: trains a validation-grid case (its first,
measured step) with the CPU allocation trace, and prints every allocation and free of the chosen
window with the innermost op that made it, the running live bytes, and the window's peak.

    python native/tools/trace_step.py CASE [--window layer_bwd_start|head_start|step] [--min BYTES]

CASE is a name from native/tests/grid_util.py CASES. Rank 0's trace is printed. A diagnostic for
modelling the planner's transient terms (docs/planner.md §3.5); it changes nothing in the runtime.
"""
import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, '..'), os.path.join(HERE, '..', 'tests')]

import grid_util as G  # noqa: E402
from dist_util import spawn  # noqa: E402


def _detail(trace):
    """(t, bytes, op) of every allocation event, with the innermost op around it."""
    events = trace.prof.profiler.kineto_results.events()
    ops, mem = [], []
    for e in events:
        if e.name() == '[memory]':
            mem.append((e.start_ns(), int(e.nbytes())))
        elif e.duration_ns() > 0:
            ops.append((e.start_ns(), e.start_ns() + e.duration_ns(), e.name()))
    out = []
    for t, n in sorted(mem):
        inner = [o for o in ops if o[0] <= t <= o[1]]
        name = min(inner, key=lambda o: o[1] - o[0])[2] if inner else '?'
        out.append((t, n, name))
    marks = sorted((e.start_ns(), e.name()[len('spindle.mark.'):]) for e in events
                   if e.name().startswith('spindle.mark.'))
    return out, marks


def _worker(rank, world, name, cfg, out_dir, window, minimum):
    import torch
    from spindle.accounting import alloc
    from spindle.train.loop import Trainer
    from spindle.train.runtime import Proc
    original = alloc.CpuTrace.__exit__

    def exit_and_keep(self, *exc):
        r = original(self, *exc)
        if rank == 0:
            self.detail = _detail(self)
            _print(self.detail, window, minimum)
        return r

    alloc.CpuTrace.__exit__ = exit_and_keep
    proc = Proc(rank, world, rank, world, torch.device('cpu'), 'gloo')
    stdout, sys.stdout = sys.stdout, open(os.devnull, 'w')
    try:
        cfg = dict(cfg, training=dict(cfg['training'], steps=1))
        Trainer(cfg, os.path.join(out_dir, name), proc).run()
    finally:
        sys.stdout = stdout


def _print(detail, window, minimum):
    out = sys.__stderr__
    allocs, marks = detail
    names = [m for _, m in marks]
    if window == 'step':
        t0, t1 = marks[0][0], marks[-1][0]
    else:
        i = names.index(window)
        t0, t1 = marks[i][0], marks[i + 1][0]
    live = sum(n for t, n, _ in allocs if t < t0)
    start, peak, at = live, live, None
    print(f'window {window}: live at start {live:,} B (relative to the step start)', file=out)
    for t, n, op in allocs:
        if not t0 <= t < t1:
            continue
        live += n
        if live > peak:
            peak, at = live, op
        if abs(n) >= minimum:
            print(f'{(t - t0) / 1e3:10.1f} us {n:+12,} live {live - start:+12,}  {op}', file=out)
    print(f'peak {peak - start:+,} B above the start (at {at})', file=out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('case')
    ap.add_argument('--window', default='layer_bwd_start')
    ap.add_argument('--min', type=int, default=0)
    a = ap.parse_args()
    case = next(c for c in G.CASES if c[0] == a.case)
    cfg = G.case_config(*case)
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, a.case))
        spawn(_worker, cfg['cluster']['gpus_per_node'], a.case, cfg, d, a.window, a.min)


if __name__ == '__main__':
    main()
