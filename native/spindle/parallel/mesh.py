"""The process mesh: world = dp x ring x ulysses, Ulysses innermost (contiguous ranks, so a
Ulysses group sits inside a node), ring next, dp outermost. The groups come from torch's
DeviceMesh over (dp, ring, ulysses), whose row-major rank order is exactly this layout; it is
created once, by every rank (torch requires that), and its groups are handed around explicitly."""
from dataclasses import dataclass
from typing import Any, List, Optional

import torch.distributed as dist

from ..comm import RingComm

DIMS = ('dp', 'ring', 'ulysses')


@dataclass
class Mesh:
    world: int
    rank: int
    dp: int
    ring: int
    ulysses: int
    dp_rank: int
    ring_rank: int
    ulysses_rank: int
    ulysses_group: Any = None
    ring_group: Any = None
    ring_ranks: Optional[List[int]] = None
    dp_group: Any = None
    world_group: Any = None  # gradient reduction and ZeRO sharding span dp x sp
    device_mesh: Any = None  # torch.distributed.device_mesh.DeviceMesh over DIMS

    @property
    def sp(self):
        return self.ring * self.ulysses

    def rank_of(self, dp_rank, ring_rank, ulysses_rank):
        return (dp_rank * self.ring + ring_rank) * self.ulysses + ulysses_rank

    def ring_comm(self):
        return RingComm(self.ring_group, self.ring_ranks) if self.ring > 1 else None


def coords(rank, ring, ulysses):
    return rank // (ring * ulysses), (rank // ulysses) % ring, rank % ulysses


def build_mesh(world, rank, ulysses, ring, device_type='cpu'):
    if world % (ulysses * ring):
        raise ValueError(f'world size {world} is not divisible by parallel.ulysses x parallel.ring = {ulysses * ring}')
    dp = world // (ulysses * ring)
    d, r, u = coords(rank, ring, ulysses)
    m = Mesh(world, rank, dp, ring, ulysses, d, r, u)
    if world == 1 or not dist.is_initialized():
        return m
    from torch.distributed.device_mesh import init_device_mesh
    dm = init_device_mesh(device_type, (dp, ring, ulysses), mesh_dim_names=DIMS)
    if tuple(dm.get_coordinate()) != (d, r, u):  # our rank arithmetic and torch's layout must agree
        raise RuntimeError(f'device mesh puts rank {rank} at {dm.get_coordinate()}, expected {(d, r, u)}')
    m.device_mesh, m.world_group = dm, dist.group.WORLD
    m.ulysses_group, m.ring_group, m.dp_group = (dm.get_group(name) for name in ('ulysses', 'ring', 'dp'))
    m.ring_ranks = dist.get_process_group_ranks(m.ring_group)
    return m
