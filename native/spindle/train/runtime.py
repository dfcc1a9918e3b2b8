"""Process setup from torchrun's environment: process group, device, run dir, rank log, SIGTERM."""
import logging
import os
import signal
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class Proc:
    rank: int
    world: int
    local_rank: int
    local_world: int
    device: torch.device
    backend: str

    @property
    def nodes(self):
        return max(1, self.world // max(1, self.local_world))


def init_process(cfg):
    world = int(os.environ.get('WORLD_SIZE', '1'))
    rank = int(os.environ.get('RANK', '0'))
    local_rank = int(os.environ.get('LOCAL_RANK', '0'))
    local_world = int(os.environ.get('LOCAL_WORLD_SIZE', str(world)))
    want = cfg['cluster']['nodes'] * cfg['cluster']['gpus_per_node']
    if world != want:
        raise ValueError(f'cluster: the config asks for {want} processes (nodes {cfg["cluster"]["nodes"]} x gpus_per_node '
                         f'{cfg["cluster"]["gpus_per_node"]}) but this launch has WORLD_SIZE={world}; start it with '
                         f'torchrun --nnodes {cfg["cluster"]["nodes"]} --nproc-per-node {cfg["cluster"]["gpus_per_node"]}')
    use_gpu = cfg['cluster']['gpu'] != 'cpu'
    if use_gpu and not torch.cuda.is_available():
        raise ValueError(f'cluster.gpu is {cfg["cluster"]["gpu"]!r} but CUDA is not available on this node '
                         '(use cluster.gpu: cpu to train on CPU)')
    if use_gpu:
        torch.cuda.set_device(local_rank)
        device = torch.device('cuda', local_rank)
    else:
        device = torch.device('cpu')
    backend = 'nccl' if use_gpu else 'gloo'
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend)
    return Proc(rank, world, local_rank, local_world, device, backend)


def setup_logging(run_dir, rank):
    os.makedirs(os.path.join(run_dir, 'logs'), exist_ok=True)
    log = logging.getLogger('spindle')
    log.setLevel(logging.INFO)
    for h in list(log.handlers):
        log.removeHandler(h)
    fh = logging.FileHandler(os.path.join(run_dir, 'logs', f'rank-{rank}.log'))
    fh.setFormatter(logging.Formatter('%(asctime)s rank ' + str(rank) + ' %(levelname)s %(name)s: %(message)s'))
    log.addHandler(fh)
    log.propagate = False
    return log


class StopFlag:
    """SIGTERM/SIGINT set a flag; the loop agrees on it across ranks at the end of each step
    (one all-reduce), so every rank stops after the same step and none waits in a collective."""

    def __init__(self):
        self.requested = False
        self.signal = None

    def install(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on)
        return self

    def _on(self, signum, _frame):
        self.requested = True
        self.signal = signum
        print(f'spindle: received signal {signum}, stopping after this step', file=sys.stderr, flush=True)
