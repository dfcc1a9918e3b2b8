"""The process mesh: world = dp x ring x ulysses, Ulysses innermost (contiguous ranks, so a
Ulysses group sits inside a node), ring next, dp outermost. Groups are created once, by every
rank in the same order (torch requires that), and handed around explicitly."""
from dataclasses import dataclass
from typing import Any, List, Optional

import torch.distributed as dist

from ..comm import RingComm


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
    sp_group: Any = None
    dp_group: Any = None
    world_group: Any = None  # gradient reduction and ZeRO sharding span dp x sp

    @property
    def sp(self):
        return self.ring * self.ulysses

    def rank_of(self, dp_rank, ring_rank, ulysses_rank):
        return (dp_rank * self.ring + ring_rank) * self.ulysses + ulysses_rank

    def ring_comm(self):
        return RingComm(self.ring_group, self.ring_ranks) if self.ring > 1 else None


def coords(rank, ring, ulysses):
    return rank // (ring * ulysses), (rank // ulysses) % ring, rank % ulysses


def build_mesh(world, rank, ulysses, ring):
    if world % (ulysses * ring):
        raise ValueError(f'world size {world} is not divisible by parallel.ulysses x parallel.ring = {ulysses * ring}')
    dp = world // (ulysses * ring)
    d, r, u = coords(rank, ring, ulysses)
    m = Mesh(world, rank, dp, ring, ulysses, d, r, u)
    if world == 1 or not dist.is_initialized():
        return m
    m.world_group = dist.group.WORLD
    for dd in range(dp):
        for rr in range(ring):
            ranks = [m.rank_of(dd, rr, uu) for uu in range(ulysses)]
            g = dist.new_group(ranks)
            if (dd, rr) == (d, r):
                m.ulysses_group = g
        for uu in range(ulysses):
            ranks = [m.rank_of(dd, rr, uu) for rr in range(ring)]
            g = dist.new_group(ranks)
            if (dd, uu) == (d, u):
                m.ring_group, m.ring_ranks = g, ranks
        g = dist.new_group([m.rank_of(dd, rr, uu) for rr in range(ring) for uu in range(ulysses)])
        if dd == d:
            m.sp_group = g
    for rr in range(ring):
        for uu in range(ulysses):
            g = dist.new_group([m.rank_of(dd, rr, uu) for dd in range(dp)])
            if (rr, uu) == (r, u):
                m.dp_group = g
    return m
