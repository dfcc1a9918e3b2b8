"""Sequence layouts: every token lands on exactly one rank, zigzag pairs chunks i and 2R-1-i,
and impossible shapes fail with plain-language errors."""
import pytest
import torch

from spindle.attention.ulysses import check_heads
from spindle.parallel.layout import check_seq_len, local_indices, ring_shard_indices
from spindle.parallel.mesh import build_mesh, coords


@pytest.mark.parametrize('u,r,variant', [(1, 1, 'zigzag'), (2, 1, 'zigzag'), (1, 2, 'zigzag'), (2, 2, 'zigzag'),
                                         (4, 1, 'zigzag'), (1, 4, 'contiguous'), (2, 4, 'zigzag'), (2, 2, 'contiguous')])
def test_every_token_on_exactly_one_rank(u, r, variant):
    L = 64
    got = torch.cat([local_indices(L, u, r, variant, rr, uu) for rr in range(r) for uu in range(u)])
    assert sorted(got.tolist()) == list(range(L))


def test_zigzag_chunks():
    assert ring_shard_indices(16, 4, 1, 'zigzag').tolist() == [2, 3, 12, 13]
    assert ring_shard_indices(16, 4, 1, 'contiguous').tolist() == [4, 5, 6, 7]
    # Ulysses pieces are contiguous slices of the ring shard, in Ulysses-rank order.
    assert local_indices(16, 2, 2, 'zigzag', 0, 0).tolist() == [0, 1, 2, 3]
    assert local_indices(16, 2, 2, 'zigzag', 0, 1).tolist() == [12, 13, 14, 15]
    assert local_indices(16, 2, 2, 'zigzag', 1, 0).tolist() == [4, 5, 6, 7]


def test_mesh_order_ulysses_innermost():
    # world 8 = dp 1 x ring 4 x ulysses 2: ranks 0,1 form a Ulysses group, 0,2,4,6 a ring.
    assert [coords(r, 4, 2) for r in (0, 1, 2, 7)] == [(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 3, 1)]
    m = build_mesh(1, 0, 1, 1)
    assert (m.dp, m.sp) == (1, 1)
    with pytest.raises(ValueError, match='not divisible'):
        build_mesh(6, 0, 4, 1)


def test_bad_shapes_fail_clearly():
    with pytest.raises(ValueError, match=r'seq_len 100 must be divisible by 2 x ring x ulysses = 8'):
        check_seq_len(100, 2, 2, 'zigzag')
    check_seq_len(100, 2, 2, 'contiguous')
    with pytest.raises(ValueError, match='must divide model.architecture.heads'):
        check_heads(6, 2, 4)
    with pytest.raises(ValueError, match='one must divide'):
        check_heads(12, 3, 4)
    check_heads(8, 2, 4)  # replication: 2 kv heads over 4 ranks
    check_heads(8, 8, 4)  # split


def _mesh_groups(rank, world):
    import torch.distributed as dist
    for ring, ulysses in ((2, 2), (1, 2), (2, 1), (1, 4)):
        m = build_mesh(world, rank, ulysses, ring)
        ranks = dist.get_process_group_ranks
        assert ranks(m.ulysses_group) == [m.rank_of(m.dp_rank, m.ring_rank, u) for u in range(ulysses)]
        assert ranks(m.ring_group) == m.ring_ranks == [m.rank_of(m.dp_rank, r, m.ulysses_rank) for r in range(ring)]
        assert ranks(m.dp_group) == [m.rank_of(d, m.ring_rank, m.ulysses_rank) for d in range(m.dp)]
        assert m.device_mesh.mesh_dim_names == ('dp', 'ring', 'ulysses')


def test_mesh_groups_come_from_a_device_mesh_in_our_rank_order():
    from dist_util import spawn
    spawn(_mesh_groups, 4)
