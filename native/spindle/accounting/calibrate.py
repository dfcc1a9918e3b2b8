"""Measure the planner's fixed memory costs on this machine (docs/planner.md §5, §12) and, with
--write, record them in resources/calibration.json with the machine, date and command.

    python -m spindle.accounting.calibrate            # print the measurement as JSON
    python -m spindle.accounting.calibrate --write    # ... and record it for the device's catalog id

What is measured, per process (one process per GPU, or per CPU "GPU"):
  framework_bytes      memory the process holds with no training tensors: the interpreter, torch
                       and the runtime imported, a warm-up op run; CPU: VmRSS; CUDA: device memory
                       in use (mem_get_info) minus what the caching allocator reserved
  nccl_base_bytes      what creating the world process group adds (gloo on CPU: VmRSS delta; CUDA:
                       NCCL, device-memory delta around the first collective)
  nccl_per_group_bytes what each further 2-rank group adds (average over several)
Only figures measured here are written; anything else in calibration.json stays as it is. The CPU
timing constants (docs/planner.md §6) are measured by python -m spindle.accounting.calibrate_compute.
The CUDA branch has not been run yet (no GPU was available when it was written): treat its
first results with care and compare them with nvidia-smi.
"""
import argparse
import datetime
import json
import os
import platform
import socket
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

GROUPS = 8


def rss_bytes():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    raise RuntimeError('no VmRSS in /proc/self/status')


def _device_used(device):
    free, total = torch.cuda.mem_get_info(device)
    return total - free


def _worker(rank, world, port, cuda, out):
    import spindle.train.loop  # noqa: F401  the runtime's imports, as a training process has them
    torch.set_num_threads(1)
    if cuda:
        torch.cuda.set_device(rank)
        device = torch.device('cuda', rank)
        (torch.ones(64, 64, device=device) @ torch.ones(64, 64, device=device)).sum().item()
        torch.cuda.synchronize(device)
        used = lambda: _device_used(device)  # noqa: E731
        framework = used() - torch.cuda.memory_reserved(device)
    else:
        (torch.ones(64, 64) @ torch.ones(64, 64)).sum().item()
        used = rss_bytes
        framework = rss_bytes()
    before = used()
    backend = 'nccl' if cuda else 'gloo'
    dist.init_process_group(backend, init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=world)
    t = torch.ones(1, device=device) if cuda else torch.ones(1)
    dist.all_reduce(t)  # NCCL creates its communicator lazily, at the first collective
    if cuda:
        torch.cuda.synchronize(device)
    base = used() - before
    before = used()
    for _ in range(GROUPS):
        g = dist.new_group(list(range(world)))
        dist.all_reduce(t, group=g)
    if cuda:
        torch.cuda.synchronize(device)
    per_group = (used() - before) / GROUPS
    result = torch.tensor([float(framework), float(base), float(per_group)], dtype=torch.float64)
    outs = [torch.zeros_like(result) for _ in range(world)]
    dist.all_gather(outs, result.to(t.device))
    if rank == 0:
        with open(out, 'w') as f:
            json.dump([o.cpu().tolist() for o in outs], f)
    dist.destroy_process_group()


def measure(world=2):
    import socket as _s
    with _s.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    cuda = torch.cuda.is_available()
    if cuda:
        world = min(world, torch.cuda.device_count())
    out = os.path.join(os.environ.get('TMPDIR', '/tmp'), f'spindle-calibrate-{os.getpid()}.json')
    mp.spawn(_worker, args=(world, port, cuda, out), nprocs=world, join=True)
    with open(out) as f:
        per_rank = json.load(f)
    os.remove(out)
    # The largest rank: the planner's terms are per GPU and the peak is the worst one.
    worst = [max(r[i] for r in per_rank) for i in range(3)]
    return {
        'device': torch.cuda.get_device_name(0) if cuda else 'cpu',
        'world': world,
        'framework_bytes': int(worst[0]),
        'nccl_base_bytes': int(max(0, worst[1])),
        'nccl_per_group_bytes': int(max(0, worst[2])),
        'per_rank': per_rank,
    }


def machine():
    cpu = ''
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next((l.split(':', 1)[1].strip() for l in f if l.startswith('model name')), '')
    except OSError:
        pass
    return (f'{socket.gethostname()}: {platform.system()} {platform.release()}, {cpu or platform.processor()}, '
            f'{os.cpu_count()} CPUs, Python {platform.python_version()}, torch {torch.__version__}')


HOW = {
    'framework_bytes': {'cpu': 'VmRSS of a runtime process (torch and spindle imported, warm-up op, no training tensors)',
                        'cuda': 'device memory in use minus memory_reserved, after CUDA init and a warm-up op'},
    'nccl_base_bytes': {'cpu': 'VmRSS added by the gloo world group (init_process_group + first all_reduce), per rank',
                        'cuda': 'device memory added by the NCCL world communicator (first all_reduce), per rank'},
    'nccl_per_group_bytes': {'cpu': f'VmRSS added per further 2-rank gloo group (average of {GROUPS})',
                             'cuda': f'device memory added per further 2-rank NCCL group (average of {GROUPS})'},
}


def record(path, key, gpu, value, machine_, date, command, how):
    """Record one measured figure: by_gpu[gpu] and its measured record (what catalog.ts checks)."""
    with open(path) as f:
        cal = json.load(f)
    entry = cal['entries'][key]
    entry.setdefault('by_gpu', {})[gpu] = value
    entry.setdefault('measured', {})[gpu] = {'value': value, 'machine': machine_, 'date': date, 'command': command,
                                             'how': how}
    with open(path, 'w') as f:
        json.dump(cal, f, indent=2)
        f.write('\n')


def write(result, gpu, path, command):
    kind = 'cpu' if result['device'] == 'cpu' else 'cuda'
    when = datetime.date.today().isoformat()
    for key in ('framework_bytes', 'nccl_base_bytes', 'nccl_per_group_bytes'):
        record(path, key, gpu, result[key], machine(), when, command,
               HOW[key][kind] + f' (world {result["world"]}, largest rank)')


def main(argv=None):
    ap = argparse.ArgumentParser(prog='python -m spindle.accounting.calibrate', description=__doc__.split('\n\n')[0])
    ap.add_argument('--write', action='store_true', help='record the result in resources/calibration.json')
    ap.add_argument('--gpu', help="catalog id to record under (default: 'cpu' without CUDA; required with CUDA)")
    ap.add_argument('--file', default=os.path.join(os.path.dirname(__file__), '..', '..', '..', 'resources', 'calibration.json'))
    args = ap.parse_args(argv)
    result = measure()
    print(json.dumps(result))
    if args.write:
        gpu = args.gpu or ('cpu' if result['device'] == 'cpu' else None)
        if gpu is None:
            print('--gpu ID is needed to record a CUDA measurement (an id from resources/presets/gpus.json)', file=sys.stderr)
            return 2
        write(result, gpu, os.path.abspath(args.file), 'python -m spindle.accounting.calibrate --write' +
              (f' --gpu {args.gpu}' if args.gpu else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
