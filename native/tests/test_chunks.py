"""FPDT-style chunks (parallel.chunks): for chunks 2 and 4 with (ulysses, ring) = (1,1), (2,1),
(1,2), (2,2) — zigzag and contiguous rings, GQA (kv_heads 2; ulysses 4 replicates them), packed
documents crossing chunk and shard edges — logits and every parameter gradient equal the
single-process model's to 1e-5 relative in fp32. One 4-process spawn runs them all (the smaller
layouts with dp = 4 / world)."""
import copy

import pytest
import torch
import torch.distributed as dist

import sp_cases as C
from dist_util import spawn
from spindle.parallel.layout import attn_context, check_seq_len, local_indices, ring_shard_indices
from spindle.parallel.mesh import build_mesh
from spindle.parallel.parallelize import parallelize


def check_chunks(rank, world, ulysses, ring, variant, chunks, seed, base_model, checkpointing='none', L=64, b=1):
    mesh = build_mesh(world, rank, ulysses, ring)
    dp = mesh.dp
    full = C.random_batch(seed, b * dp, L, C.ARGS.vocab)
    ref_logits, ref_loss, ref_grads = C.reference(copy.deepcopy(base_model), full)
    model = parallelize(copy.deepcopy(base_model), mesh, variant, checkpointing, chunks=chunks)
    sl = slice(mesh.dp_rank * b, (mesh.dp_rank + 1) * b)
    tokens, labels, weights, doc, pos = (t[sl] for t in full)
    ctx, idx = attn_context(doc, mesh, variant, chunks)
    # The inputs must exercise the edges: on some rank a document crosses a chunk edge.
    shard_doc = ctx.ring[mesh.ring_rank].doc
    m = shard_doc.shape[1] // chunks
    crossing = torch.tensor([float(sum(int((shard_doc[:, e - 1] == shard_doc[:, e]).sum()) for e in range(m, shard_doc.shape[1], m)))])
    dist.all_reduce(crossing)
    assert crossing.item() > 0
    logits = model(tokens[:, idx], pos[:, idx], ctx)
    loss = C.loss_sum(logits, labels[:, idx], weights[:, idx]) / full[2].sum()
    loss.backward()
    where = f'ulysses={ulysses} ring={ring} {variant} chunks={chunks} dp={dp} ckpt={checkpointing}'
    C.close(logits.detach(), ref_logits[sl][:, idx], f'{where} logits')
    glob = loss.detach().clone()
    dist.all_reduce(glob)
    C.close(glob, ref_loss, f'{where} loss')
    for n, p in model.named_parameters():
        g = p.grad.clone()
        dist.all_reduce(g)
        C.close(g, ref_grads[n], f'{where} grad {n}')


def _world_4(rank, world):
    model = C.base(seed=21)
    cases = [(1, 1, 'zigzag', 2), (1, 1, 'zigzag', 4), (2, 1, 'zigzag', 2), (2, 1, 'zigzag', 4),
             (1, 2, 'zigzag', 2), (1, 2, 'contiguous', 4), (2, 2, 'zigzag', 2), (2, 2, 'zigzag', 4),
             (2, 2, 'contiguous', 4), (4, 1, 'zigzag', 2)]
    for n, (u, r, v, c) in enumerate(cases):
        check_chunks(rank, world, u, r, v, c, 500 + n, model)
    # Chunks inside recomputed blocks: communication reruns in backward, in the same order.
    check_chunks(rank, world, 2, 2, 'zigzag', 2, 600, model, checkpointing='full')
    check_chunks(rank, world, 1, 2, 'zigzag', 4, 601, model, checkpointing='selective')


def test_chunks_all_layouts_world_4():
    spawn(_world_4, 4)


@pytest.mark.parametrize('u,r,variant,c', [(2, 2, 'zigzag', 2), (2, 2, 'contiguous', 4), (1, 1, 'zigzag', 4),
                                           (4, 1, 'zigzag', 2), (2, 4, 'zigzag', 3)])
def test_chunk_major_layout(u, r, variant, c):
    """Every token on exactly one rank; Ulysses rank u holds piece u of each chunk of its ring
    shard, so chunk i over the Ulysses group is the ring shard's i-th slice, in order."""
    L = 2 * u * r * c * 2
    check_seq_len(L, u, r, variant, c)
    got = torch.cat([local_indices(L, u, r, variant, rr, uu, c) for rr in range(r) for uu in range(u)])
    assert sorted(got.tolist()) == list(range(L))
    for rr in range(r):
        shard = ring_shard_indices(L, r, rr, variant)
        n = shard.numel() // (c * u)
        locs = [local_indices(L, u, r, variant, rr, uu, c) for uu in range(u)]
        for i in range(c):
            assert torch.equal(torch.cat([x[i * n:(i + 1) * n] for x in locs]), shard[i * u * n:(i + 1) * u * n])
    assert torch.equal(local_indices(L, u, r, variant, 0, 0, 1), local_indices(L, u, r, variant, 0, 0))


def test_seq_len_must_split_into_chunks():
    with pytest.raises(ValueError, match=r'2 x ring x ulysses x chunks = 32'):
        check_seq_len(48, 2, 2, 'zigzag', 4)
