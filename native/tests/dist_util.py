"""Spawning small gloo worlds on 127.0.0.1 for tests (one spawn runs several checks)."""
import os
import socket
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

NATIVE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(NATIVE)
FIXTURES = os.path.join(REPO, 'resources', 'fixtures')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _entry(rank, world, port, fn, args):
    if NATIVE not in sys.path:
        sys.path.insert(0, NATIVE)
    torch.set_num_threads(1)  # 2 cores shared by up to 8 ranks: oversubscription only slows
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=world)
    try:
        fn(rank, world, *args)
    finally:
        dist.destroy_process_group()


def spawn(fn, world, *args):
    """Run fn(rank, world, *args) on `world` gloo processes; a failure in any re-raises here."""
    mp.spawn(_entry, args=(world, free_port(), fn, args), nprocs=world, join=True)
