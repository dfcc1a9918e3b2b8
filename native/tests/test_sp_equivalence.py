"""Acceptance: for every (ulysses, ring) layout, logits and the gradient of every parameter equal
the single-process model's (1e-5 relative, fp32) on fresh random inputs with GQA (kv_heads 2,
so ulysses 4 replicates KV heads) and packed documents crossing shard edges."""
import pytest
import torch

import sp_cases as C
from dist_util import spawn


def _world(rank, world, layouts, seed):
    model = C.base(seed=seed)
    for dp, u, r, variants, ckpt in layouts:
        for v in variants:
            C.check_layout(rank, world, dp, u, r, v, seed + 101 * u + 13 * r + dp, model, checkpointing=ckpt)


BOTH = ('zigzag', 'contiguous')


def test_single_process_layout():
    spawn(_world, 1, [(1, 1, 1, ('zigzag',), 'none')], 1)


def test_world_2():
    spawn(_world, 2, [(1, 2, 1, ('zigzag',), 'none'), (1, 1, 2, BOTH, 'none')], 2)


def _world_4(rank, world):
    _world(rank, world, [(1, 2, 2, BOTH, 'none'), (1, 4, 1, ('zigzag',), 'full'), (1, 1, 4, BOTH, 'selective'),
                         (2, 2, 1, ('zigzag',), 'none')], 3)
    _qwen(rank, world)


def test_world_4_and_qwen2_style_model():
    spawn(_world_4, 4)


@pytest.mark.slow
def test_world_8_ulysses_2_ring_4():
    spawn(_world, 8, [(1, 2, 4, BOTH, 'none')], 4)


def _qwen(rank, world):
    # qkv bias, tied embeddings, kv_heads == heads split over ulysses, odd micro-batch of 1.
    args = C.ModelArgs(layers=1, hidden=24, heads=4, kv_heads=4, head_dim=6, ffn=40, vocab=33, rope_theta=1e6,
                       tie_embeddings=True, qkv_bias=True, norm_eps=1e-6)
    torch.manual_seed(9)
    model = C.Llama(args)
    C.check_layout(rank, world, 1, 2, 2, 'zigzag', 77, model, args=args, L=32, b=1)
