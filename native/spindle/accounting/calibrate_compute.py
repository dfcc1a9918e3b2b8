"""Measure the planner's CPU timing constants on this machine (docs/planner.md §6, §12) and, with
--write, record them in resources/calibration.json under the catalog id 'cpu' with the machine,
date and command.

    python -m spindle.accounting.calibrate_compute            # print the measurement as JSON
    python -m spindle.accounting.calibrate_compute --write    # ... and record it

The planner models a CPU step as each process's own CPU work (matmuls, attention, a framework
cost per block, per SP layer and per micro-step) slowed by how many processes share the cores.
Everything here is measured with ONE intra-op thread (what torchrun gives each of several
processes: OMP_NUM_THREADS=1) and in process CPU time (time.process_time), least of N: other
jobs on the machine lengthen the wall clock much more than the CPU time a process needs (on the
2-core VM these were measured on, a busy machine moved the prediction by up to ~10 %).

  matmul_efficiency      torch.mm at the reference model's GEMM shapes (forward, dX, dW of every
                         block matrix and the LM head): FLOP/s over the catalog's cpu peak
  attention_efficiency   the runtime's CPU kernel (flash for CPU), forward + backward, on one
                         ring-shard block of the reference layout (its heads after Ulysses):
                         planner-counted FLOP/s (causal pairs, backward 2.5x) over the peak
  layer_overhead_s       the runtime's Trainer on 1 process (u = r = 1, no checkpointing) at the
                         reference's local tokens, 1 and 4 layers: the per-block slope less the
                         block's FLOP time at the two efficiencies
  ulysses_overhead_s     2 processes, u = 2 (the same local tokens): the per-block slope beyond
                         the 1-process block and the attention FLOPs the longer sequence adds -
                         permutes, copies and the gloo all-to-alls' own CPU work
  ring_step_overhead_s   2 processes, r = 2 zigzag: the same, per ring step after the first
  recompute_overhead_fraction  those three layouts again with full checkpointing: the per-block
                         slope it adds beyond the recomputed FLOPs, over the block overhead
  micro_step_overhead_s  the reference layout itself at its own process count, 1 and 4 layers:
                         the 1-layer step less the measured per-block slope and the LM head's
                         FLOPs (embedding, loss, optimizer, data and the step's collectives)
  cpu_sync_efficiency    the same runs' wall clock: max(1, processes/cores) x the slowest rank's
                         CPU time over the wall time, counting only the cores other jobs left
                         free (/proc/stat busy time beyond the run's own CPU time)
  latency_intra_s        a 2-rank gloo all-to-all of 8 KiB: wall minus CPU time per call (the
                         hand-off beyond the work counted in the SP overheads)
  host_cores             the cores this process may run on (sched_getaffinity)

cpu_sync_efficiency and latency_intra_s are wall-clock figures: the ones other jobs can disturb most.
The reference is resources/fixtures/configs/tiny-cpu.json (the tiny CPU example), or --config.
"""
import argparse
import copy
import datetime
import json
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from .calibrate import machine

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
DEFAULT_CONFIG = os.path.join(REPO, 'resources', 'fixtures', 'configs', 'tiny-cpu.json')
DEFAULT_FILE = os.path.join(REPO, 'resources', 'calibration.json')
GPUS_FILE = os.path.join(REPO, 'resources', 'presets', 'gpus.json')
FLASH_BWD = 2.5  # the planner's flash backward factor (compute.ts)
HI = 4  # per-block slopes from steps at 1 and HI layers
KEYS = ('matmul_efficiency', 'attention_efficiency', 'layer_overhead_s', 'micro_step_overhead_s',
        'ulysses_overhead_s', 'ring_step_overhead_s', 'recompute_overhead_fraction', 'cpu_sync_efficiency',
        'latency_intra_s', 'host_cores')


def best_cpu(fn, n, reps):
    """Least process CPU seconds per call of fn over reps batches of n calls (after a warm-up)."""
    fn()
    best = float('inf')
    for _ in range(reps):
        c0 = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - c0) / n)
    return best


class Shape:
    """The reference config's sizes, as the planner counts them (app/planner/shape.ts)."""

    def __init__(self, cfg):
        a = cfg['model']['architecture']
        p, t = cfg['parallel'], cfg['training']
        self.h, self.f, self.V, self.L = a['hidden'], a['ffn'], a['vocab'], a['layers']
        self.H, self.Hk, self.d = a['heads'], a['kv_heads'], a['head_dim']
        self.u, self.r = p['ulysses'], p['ring']
        self.s, self.b = t['seq_len'], t['micro_batch']
        self.T = self.s * self.b // (self.u * self.r)  # local tokens per process
        q, kv = self.H * self.d, self.Hk * self.d
        # (out, in) of every block matrix: q, k, v, o, gate, up, down
        self.block = [(q, self.h), (kv, self.h), (kv, self.h), (self.h, q), (self.f, self.h), (self.f, self.h),
                      (self.h, self.f)]
        self.mm_params = sum(o * i for o, i in self.block)

    def block_mm_fwd(self, T):
        return 2 * T * self.mm_params

    def head_mm_fwd(self, T):
        return 2 * T * self.V * self.h

    def attn_fwd(self, s, b, sp):
        """Forward attention FLOPs of one layer on one process: 4 qDim per causal pair."""
        return 4 * self.H * self.d * b * s * (s + 1) / 2 / sp


def measure_matmul(shape, reps):
    """FLOP/s of torch.mm over the block's and the head's GEMMs: forward, input and weight grads."""
    T = shape.T
    flops, secs = 0.0, 0.0
    for (o, i) in shape.block + [(shape.V, shape.h)]:
        for (m, k, n) in ((T, i, o), (T, o, i), (o, T, i)):  # y = x W^T, dX = dY W, dW = dY^T X
            a, w, out = torch.randn(m, k), torch.randn(k, n), torch.empty(m, n)
            f = 2.0 * m * k * n
            secs += best_cpu(lambda: torch.mm(a, w, out=out), max(5, int(2e8 / f)), reps)
            flops += f
    return flops / secs


def measure_attention(shape, reps):
    """FLOP/s (planner-counted: causal pairs, backward 2.5x) of the runtime's CPU kernel on one
    ring-shard block of the reference layout: heads H/u over s/r tokens, KV expanded for GQA."""
    H = shape.H // shape.u
    Hk = max(1, max(shape.Hk, shape.u) // shape.u)
    S = shape.s // shape.r
    q = torch.randn(shape.b, H, S, shape.d)
    k, v = torch.randn(shape.b, Hk, S, shape.d), torch.randn(shape.b, Hk, S, shape.d)
    fwd, bwd = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu, \
        torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward
    expand = lambda x: x if x.shape[1] == H else x.repeat_interleave(H // x.shape[1], dim=1)  # noqa: E731
    ke, ve = expand(k), expand(v)
    out, lse = fwd(q, ke, ve, 0.0, True)
    dout = torch.randn_like(out)
    tf = best_cpu(lambda: fwd(q, expand(k), expand(v), 0.0, True), 10, reps)
    tb = best_cpu(lambda: bwd(dout, q, ke, ve, out, lse, 0.0, True), 10, reps)
    flops = 4 * H * shape.d * shape.b * S * (S + 1) / 2
    return (1 + FLASH_BWD) * flops / (tf + tb)


def reference_variant(cfg, layers):
    """The reference config itself with `layers` blocks (no checkpoints written)."""
    c = copy.deepcopy(cfg)
    c['name'] = f'calibrate-reference-L{layers}'
    c['model']['architecture']['layers'] = layers
    c['training'].update(checkpoint_every=0)
    return c


def variant(cfg, world, layers, seq_len, ulysses=1, ring=1, checkpointing='none'):
    c = copy.deepcopy(cfg)
    c['name'] = f'calibrate-u{ulysses}-r{ring}-{checkpointing}-L{layers}'
    c['model']['architecture']['layers'] = layers
    c['cluster'].update(gpu='cpu', nodes=1, gpus_per_node=world)
    c['parallel'].update(ulysses=ulysses, ring=ring, checkpointing=checkpointing, chunks=1, zero=1,
                         offload={'optimizer': False, 'params': False, 'activations': False})
    c['training'].update(seq_len=seq_len, grad_accum=1, checkpoint_every=0)
    return c


def machine_busy_s():
    """CPU seconds the whole machine has been busy (every core; steal counts as busy: the
    hypervisor gave that time to someone else), from /proc/stat; None where there is none."""
    try:
        with open('/proc/stat') as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf('SC_CLK_TCK')


def steps_cpu(cfgs, tmp, proc, steps, wall=False):
    """{name: least CPU seconds of one optimizer step} of the runtime's Trainer for each config.
    With wall=True also {name: (wall s, this process's CPU s, machine busy s)} summed over the
    timed steps. The Trainers take turns, step by step, so every config sees the machine in the
    same states (another job's burst slows all of them, not one), and the least of `steps` is kept."""
    from ..train.loop import Trainer
    trainers = {}
    for name, cfg in cfgs:
        os.makedirs(os.path.join(tmp, name), exist_ok=True)
        trainers[name] = Trainer(cfg, os.path.join(tmp, name), proc)
        for s in (1, 2):  # warm-up: first-touch allocations, lazy inits
            trainers[name].train_step(s)
    best = {name: float('inf') for name in trainers}
    totals = {name: [0.0, 0.0, 0.0] for name in trainers}
    for s in range(3, 3 + steps):
        for name, tr in trainers.items():
            if proc.world > 1:
                dist.barrier()
            c0, w0, b0 = time.process_time(), time.perf_counter(), machine_busy_s()
            tr.train_step(s)  # ends in an all-reduce: every rank leaves it together
            c, w, b = time.process_time() - c0, time.perf_counter() - w0, machine_busy_s()
            best[name] = min(best[name], c)
            tot = totals[name]
            tot[0] += w
            tot[1] += c
            tot[2] += (b - b0) if b is not None and b0 is not None else float('nan')
    return (best, totals) if wall else best


def _quiet():
    sys.stdout = open(os.devnull, 'w')  # the Trainer's rank 0 echoes its events


def _worker(rank, world, port, cfgs, steps, tmp, out, handoff):
    import logging
    from ..train.runtime import Proc
    torch.set_num_threads(1)
    logging.getLogger('spindle').setLevel(logging.WARNING)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=world)
    _quiet()
    proc = Proc(rank, world, rank, world, torch.device('cpu'), 'gloo')
    cpu, wall = steps_cpu(cfgs, tmp, proc, steps, wall=True)
    res = {'cpu': cpu, 'wall': wall}
    if handoff:
        # The gloo hand-off: wall minus CPU per small all-to-all, least of 5 batches of 100.
        x, y = torch.randn(world, 1024), torch.empty(world, 1024)
        for _ in range(20):
            dist.all_to_all_single(y, x)
        hand = []
        for _ in range(5):
            dist.barrier()
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(100):
                dist.all_to_all_single(y, x)
            hand.append(((time.perf_counter() - w0) - (time.process_time() - c0)) / 100)
        res['handoff'] = max(0.0, min(hand))
    gathered = [None] * world
    dist.all_gather_object(gathered, res)
    if rank == 0:
        with open(out, 'w') as f:
            json.dump(gathered, f)
    dist.destroy_process_group()


def run_world(world, cfgs, steps, tmp, handoff=False):
    """steps_cpu on `world` spawned gloo processes: ({name: CPU s of the slowest rank},
    {name: wall s of the slowest rank}, hand-off s or None)."""
    import socket
    with socket.socket() as sk:
        sk.bind(('127.0.0.1', 0))
        port = sk.getsockname()[1]
    out = os.path.join(tmp, f'world{world}-{len(cfgs)}.json')
    mp.spawn(_worker, args=(world, port, cfgs, steps, tmp, out, handoff), nprocs=world, join=True)
    with open(out) as f:
        per_rank = json.load(f)
    cpu = {k: max(r['cpu'][k] for r in per_rank) for k in per_rank[0]['cpu']}  # the slowest rank paces
    return cpu, _totals(per_rank), (max(r['handoff'] for r in per_rank) if handoff else None)


def _totals(per_rank):
    """{name: {wall, cpu_max, cpu_sum, busy}} over the timed steps: the wall clock (rank 0), the
    slowest rank's and all ranks' CPU seconds, and the machine's busy seconds (rank 0's reading)."""
    out = {}
    for k in per_rank[0]['wall']:
        out[k] = {'wall': per_rank[0]['wall'][k][0], 'cpu_max': max(r['wall'][k][1] for r in per_rank),
                  'cpu_sum': sum(r['wall'][k][1] for r in per_rank), 'busy': per_rank[0]['wall'][k][2]}
    return out


def measure(cfg, steps=16, reps=5, tmp=None):
    import tempfile
    from ..train.runtime import Proc
    torch.set_num_threads(1)
    shape = Shape(cfg)
    with open(GPUS_FILE) as f:
        cpu = json.load(f)['cpu']
    peak = (cpu['bf16_tflops'] if cfg['training']['precision'] == 'bf16' else cpu['fp32_tflops']) * 1e12
    tmp = tmp or tempfile.mkdtemp(prefix='spindle-calibrate-compute-')
    R_mm = measure_matmul(shape, reps)
    R_attn = measure_attention(shape, reps)
    T, b = shape.T, shape.b
    s1 = T // b  # one process holding the reference's local tokens: seq_len T/b

    def flop_time(T_, s_, sp, layers, head):
        mm = layers * shape.block_mm_fwd(T_) + (shape.head_mm_fwd(T_) if head else 0)
        return 3 * mm / R_mm + (1 + FLASH_BWD) * layers * shape.attn_fwd(s_, b, sp) / R_attn

    # Each layout at 1 and HI layers, without and with full checkpointing: the per-block slope
    # takes out everything a step does once (embedding, loss, optimizer, ZeRO collectives).
    def slope(t, name):
        return (t[f'{name}-L{HI}'] - t[f'{name}-L1']) / (HI - 1)

    # One process: no dist group, as a 1-process run has none.
    import logging
    logging.getLogger('spindle').setLevel(logging.WARNING)
    proc = Proc(0, 1, 0, 1, torch.device('cpu'), 'gloo')
    stdout = sys.stdout
    _quiet()
    try:
        one = steps_cpu([(f'w1-{ck}-L{L}', variant(cfg, 1, L, s1, checkpointing=ck))
                         for ck in ('none', 'full') for L in (1, HI)], tmp, proc, steps)
    finally:
        sys.stdout = stdout

    # Two processes: u = 2 and r = 2 over twice the sequence (the same local tokens).
    cfgs = [(f'{k}-{ck}-L{L}', variant(cfg, 2, L, 2 * s1, checkpointing=ck, **kw))
            for k, kw in (('u2', {'ulysses': 2}), ('r2', {'ring': 2})) for ck in ('none', 'full') for L in (1, HI)]
    two, _, handoff = run_world(2, cfgs, steps, tmp, handoff=True)

    # The reference layout itself, at its own process count, 1 and HI layers: what a step does
    # once at that world size (embedding, loss, optimizer and the step's collectives), and how
    # much of the wall clock its processes actually compute.
    P = cfg['cluster']['nodes'] * cfg['cluster']['gpus_per_node']
    ref_cfgs = [(f'ref-L{L}', reference_variant(cfg, L)) for L in (1, HI)]
    if P == 1:
        stdout = sys.stdout
        _quiet()
        try:
            ref, tot = steps_cpu(ref_cfgs, tmp, proc, steps, wall=True)
        finally:
            sys.stdout = stdout
        ref_wall = _totals([{'wall': tot}])
    else:
        ref, ref_wall, _ = run_world(P, ref_cfgs, steps, tmp)
    t = {**one, **two, **ref}

    base_flops = flop_time(T, s1, 1, 1, False)
    sp_flops = flop_time(T, 2 * s1, 2, 1, False)  # the same local tokens, twice the attention pairs
    layer = slope(t, 'w1-none') - base_flops
    micro = t['ref-L1'] - slope(t, 'ref') - shape.head_mm_fwd(T) * 3 / R_mm
    ulysses = slope(t, 'u2-none') - slope(t, 'w1-none') - sp_flops + base_flops
    ring = slope(t, 'r2-none') - slope(t, 'w1-none') - sp_flops + base_flops
    # Full checkpointing re-runs each block's forward: its FLOPs (the planner counts them) and a
    # share of the block's framework cost (the forward's, plus torch.utils.checkpoint's own),
    # pooled over the three layouts.
    def recompute_flops(s_, sp):
        return shape.block_mm_fwd(T) / R_mm + shape.attn_fwd(s_, b, sp) / R_attn

    extra = sum(slope(t, f'{n}-full') - slope(t, f'{n}-none') - recompute_flops(s_, sp)
                for n, s_, sp in (('w1', s1, 1), ('u2', 2 * s1, 2), ('r2', 2 * s1, 2)))
    over = sum(slope(t, f'{n}-none') - ft for n, ft in (('w1', base_flops), ('u2', sp_flops), ('r2', sp_flops)))
    recompute = extra / over if over > 0 else 1 / 3
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    # Other jobs on the machine take cores from the run; count only the cores it had: the
    # machine's busy time beyond the run's own CPU time is someone else's.
    w = {k: sum(ref_wall[n][k] for n, _ in ref_cfgs) for k in ('wall', 'cpu_max', 'cpu_sum', 'busy')}
    others = max(0.0, (w['busy'] - w['cpu_sum']) / w['wall']) if w['busy'] == w['busy'] else 0.0
    available = max(0.5, cores - others)
    sync = max(1.0, P / available) * w['cpu_max'] / w['wall']
    # The model's block on the reference layout (what compute.ts adds up), against the measured slope.
    ck = cfg['parallel']['checkpointing']
    per_layer = layer + (ulysses if shape.u > 1 else 0) + (shape.r - 1) * ring
    model_block = (flop_time(T, shape.s, shape.u * shape.r, 1, False) + per_layer
                   + (recompute_flops(shape.s, shape.u * shape.r) + recompute * per_layer if ck == 'full' else 0))
    return {
        'device': 'cpu',
        'threads': 1,
        'reference': {'config': cfg['name'], 'local_tokens': T, 'hidden': shape.h, 'ffn': shape.f,
                      'heads': shape.H, 'head_dim': shape.d, 'ulysses': shape.u, 'ring': shape.r},
        'peak_flops': peak,
        'matmul_flops': R_mm,
        'attention_flops': R_attn,
        'matmul_efficiency': round(R_mm / peak, 4),
        'attention_efficiency': round(R_attn / peak, 5),
        'layer_overhead_s': round(max(0.0, layer), 6),
        'micro_step_overhead_s': round(max(0.0, micro), 6),
        'ulysses_overhead_s': round(max(0.0, ulysses), 6),
        'ring_step_overhead_s': round(max(0.0, ring), 6),
        'recompute_overhead_fraction': round(max(0.0, recompute), 3),
        'cpu_sync_efficiency': round(min(1.0, sync), 3),
        'latency_intra_s': round(handoff, 6),
        'host_cores': cores,
        'check': {'reference_block_cpu_s': {'measured': round(slope(t, 'ref'), 6), 'model': round(model_block, 6)}},
        'steps_cpu_s': {k: round(v, 6) for k, v in t.items()},
        'reference_runs': {'wall_s': round(w['wall'], 3), 'slowest_rank_cpu_s': round(w['cpu_max'], 3),
                           'all_ranks_cpu_s': round(w['cpu_sum'], 3), 'machine_busy_s': round(w['busy'], 3),
                           'other_jobs_cores': round(others, 2)},
    }


HOW = {
    'matmul_efficiency': 'torch.mm at the reference GEMM shapes (forward, dX, dW of the block matrices and LM head), '
                         '1 thread, best-of-{reps} process CPU time: {matmul_flops:.3g} FLOP/s over the catalog peak',
    'attention_efficiency': 'the runtime CPU flash-attention kernel, forward + backward, on one ring-shard block of '
                            'the reference layout (heads/ulysses heads, seq/ring tokens), 1 thread, best-of-{reps} CPU '
                            'time: {attention_flops:.3g} planner-counted FLOP/s (causal pairs, backward 2.5x) over the '
                            'catalog peak',
    'layer_overhead_s': "per-block slope of the runtime Trainer's step CPU time at 1 and {HI} layers (1 process, "
                        'u = r = 1, no checkpointing, {T} local tokens, 1 thread, least of {steps} steps) minus the '
                        "block's FLOP time at the measured efficiencies",
    'micro_step_overhead_s': "the reference layout at its own process count, 1 and {HI} layers: the 1-layer step's "
                             "CPU time less the measured per-block slope and the LM head's FLOP time (embedding, loss, "
                             'optimizer, data and the step collectives at that world size); the slowest rank',
    'ulysses_overhead_s': 'per-block slope at 1 and {HI} layers with 2 processes, ulysses 2 (same local tokens), '
                          'beyond the 1-process block and the added attention FLOP time; the slower rank',
    'ring_step_overhead_s': 'per-block slope at 1 and {HI} layers with 2 processes, ring 2 (zigzag, same local tokens), '
                            'beyond the 1-process block and the added attention FLOP time, per ring step after the '
                            'first; the slower rank',
    'recompute_overhead_fraction': 'per-block slope with full checkpointing minus without, less the recomputed '
                                   "FLOPs' time, over the block overhead without; pooled over the 1-process, u 2 and r 2 "
                                   'runs above',
    'cpu_sync_efficiency': 'the same reference runs, {steps} steps each at 1 and {HI} layers: max(1, processes/cores) '
                           'x CPU time of the slowest rank over the wall time, the cores being those other jobs left '
                           'free (machine busy time from /proc/stat beyond the run\'s own CPU time; {others:.2f} '
                           'cores busy elsewhere while measuring)',
    'latency_intra_s': '2-rank gloo all-to-all of 8 KiB: wall minus process CPU time per call, least of 5 batches of '
                       '100 (the CPU work of a call is in the SP overheads)',
    'host_cores': 'len(os.sched_getaffinity(0)): the cores the processes of one node share',
}


def write(result, path, command, reps, steps):
    from .calibrate import record
    fill = dict(reps=reps, steps=steps, HI=HI, T=result['reference']['local_tokens'],
                others=result['reference_runs']['other_jobs_cores'], **result)
    for key in KEYS:
        record(path, key, 'cpu', result[key], machine(), datetime.date.today().isoformat(), command,
               HOW[key].format(**fill) + f" (reference {result['reference']['config']})")


def main(argv=None):
    ap = argparse.ArgumentParser(prog='python -m spindle.accounting.calibrate_compute',
                                 description=__doc__.split('\n\n')[0])
    ap.add_argument('--write', action='store_true', help="record the result under 'cpu' in resources/calibration.json")
    ap.add_argument('--config', default=DEFAULT_CONFIG, help='normalized run config whose shapes to measure at')
    ap.add_argument('--steps', type=int, default=16, help='timed training steps per runtime measurement (best of)')
    ap.add_argument('--reps', type=int, default=5, help='timed batches per microbenchmark (best of)')
    ap.add_argument('--file', default=DEFAULT_FILE)
    args = ap.parse_args(argv)
    with open(args.config) as f:
        cfg = json.load(f)
    t0 = time.time()
    result = measure(cfg, args.steps, args.reps)
    result['wall_s'] = round(time.time() - t0, 1)
    print(json.dumps(result))
    if args.write:
        cmd = 'python -m spindle.accounting.calibrate_compute --write'
        if os.path.abspath(args.config) != DEFAULT_CONFIG:
            cmd += f' --config {os.path.relpath(args.config, REPO)}'
        write(result, os.path.abspath(args.file), cmd, args.reps, args.steps)
    return 0


if __name__ == '__main__':
    sys.exit(main())
