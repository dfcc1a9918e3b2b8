"""ZeRO-3 (parameters sharded over dp x sp, gathered per unit around forward and backward).

One 4-process spawn:
* gradients: for dp 2 x ulysses 2 and for ulysses 2 x ring 2 (and a few more: ring with dp,
  checkpointing full / selective, FPDT chunks, activation offload, tied embeddings, both loss
  modes), the logits and
  every parameter's gradient — assembled from the owners' fp32 shards — equal the single-process
  model's to 1e-5 relative in fp32; between units no full parameter is alive;
* training: the real Trainer on the tiny config (ulysses 2 x ring 2, full checkpointing) gives the
  same loss curve under ZeRO-3 (with chunks 2 and activation offload) as under ZeRO-1 (1e-5
  relative), and a ZeRO-3 run resumed from its step-2
  checkpoint (the later checkpoint removed, as if killed after step 3) repeats steps 3-4 bitwise.
"""
import copy
import json
import os
import shutil

import pytest
import torch
import torch.distributed as dist

import sp_cases as C
from dist_util import FIXTURES, spawn
from spindle.optim.zero import ZeroAdamW
from spindle.parallel.layout import attn_context
from spindle.parallel.mesh import build_mesh
from spindle.parallel.parallelize import parallelize
from spindle.train.loss import head_loss_fn

TCFG = {'beta1': 0.9, 'beta2': 0.95, 'weight_decay': 0.1, 'grad_clip': 1.0, 'lr': 1e-2}


def full_grads(opt):
    """{name: gradient} from every rank's fp32 shard accumulator (a collective)."""
    out = {}
    off = 0
    for u in opt.units:
        shards = [torch.empty(u.shard) for _ in range(opt.world)]
        dist.all_gather(shards, opt.grad_acc[off:off + u.shard].clone())
        flat = torch.cat(shards)
        for n, (a, b), shape in zip(u.names, u.offsets, u.shapes):
            out[n] = flat[a:b].view(shape)
        off += u.shard
    return out


def check_zero3(rank, world, ulysses, ring, variant, seed, base_model, args=C.ARGS, checkpointing='none', chunks=1,
                loss='chunked', L=64, b=1, offload_activations=False):
    mesh = build_mesh(world, rank, ulysses, ring)
    dp = mesh.dp
    full = C.random_batch(seed, b * dp, L, args.vocab)
    ref_logits, ref_loss, ref_grads = C.reference(copy.deepcopy(base_model), full)
    model = parallelize(copy.deepcopy(base_model), mesh, variant, checkpointing, chunks=chunks,
                        offload_activations=offload_activations)
    opt = ZeroAdamW(model, 3, TCFG, dist.group.WORLD, world, rank)
    assert all(p.numel() == 0 for p in model.parameters())  # sharded: nothing full at rest
    sl = slice(mesh.dp_rank * b, (mesh.dp_rank + 1) * b)
    tokens, labels, weights, doc, pos = (t[sl] for t in full)
    ctx, idx = attn_context(doc, mesh, variant, chunks)
    where = f'zero3 dp={dp} ulysses={ulysses} ring={ring} {variant} ckpt={checkpointing} chunks={chunks} {loss}'
    with torch.no_grad():
        logits = model(tokens[:, idx], pos[:, idx], ctx)
    C.close(logits, ref_logits[sl][:, idx], f'{where} logits')
    s = model.head_loss(model.trunk(tokens[:, idx], pos[:, idx], ctx), labels[:, idx], weights[:, idx],
                        head_loss_fn(loss, 16))
    assert all(u.full is None for u in opt.units) and all(p.numel() == 0 for p in model.parameters())
    (s / full[2].sum()).backward()
    assert all(u.full is None for u in opt.units)
    glob = s.detach() / full[2].sum()
    dist.all_reduce(glob)
    C.close(glob, ref_loss, f'{where} loss')
    got = full_grads(opt)
    for n, g in ref_grads.items():
        C.close(got[n], g, f'{where} grad {n}')
    # Transients: at most the largest gathered set (head + tied embedding) was alive at once.
    biggest = max(u.padded for u in opt.units) * 4 * (2 if args.tie_embeddings else 1)
    assert 0 < opt.stats.max_gathered <= biggest, (opt.stats.max_gathered, biggest)


def _tiny_cfg(**parallel):
    with open(os.path.join(FIXTURES, 'configs', 'tiny-cpu.json')) as f:
        cfg = json.load(f)
    cfg['training'].update(seq_len=128, steps=4, checkpoint_every=2, warmup_steps=1)
    cfg['parallel'].update(parallel)
    from spindle.config import validate
    return validate(cfg)


def _train(rank, world, cfg, run_dir, resume=False):
    """The real Trainer in this process; returns {step: loss} as its events record them."""
    from spindle.train.loop import Trainer
    from spindle.train.runtime import Proc
    os.makedirs(run_dir, exist_ok=True)
    dist.barrier()
    tr = Trainer(cfg, run_dir, Proc(rank, world, rank, world, torch.device('cpu'), 'gloo'))
    if resume:
        tr.maybe_resume()
        assert tr.resumed_from == 2
    tr.run()
    dist.barrier()
    with open(os.path.join(run_dir, 'events.jsonl')) as f:
        ev = [json.loads(line) for line in f]
    return {e['step']: e['loss'] for e in ev if e['type'] == 'step'}


def _world_4(rank, world, tmp):
    model = C.base(seed=31)
    check_zero3(rank, world, 2, 1, 'zigzag', 700, model)                       # dp 2 x ulysses 2
    check_zero3(rank, world, 2, 2, 'zigzag', 701, model)                       # ulysses 2 x ring 2
    check_zero3(rank, world, 2, 2, 'contiguous', 702, model, checkpointing='full', loss='materialized')
    check_zero3(rank, world, 1, 2, 'zigzag', 703, model, checkpointing='selective')  # dp 2 x ring 2
    check_zero3(rank, world, 1, 1, 'zigzag', 704, model, checkpointing='full', chunks=2)  # dp 4
    check_zero3(rank, world, 2, 2, 'zigzag', 705, model, chunks=2)
    check_zero3(rank, world, 2, 2, 'zigzag', 707, model, checkpointing='full', offload_activations=True)
    tied = C.ModelArgs(**{**C.ARGS.__dict__, 'tie_embeddings': True, 'qkv_bias': True})
    check_zero3(rank, world, 2, 1, 'zigzag', 706, C.base(tied, seed=5), args=tied, loss='materialized')

    z1 = _train(rank, world, _tiny_cfg(zero=1), os.path.join(tmp, 'z1'))
    # ZeRO-3 composed with FPDT chunks and activation offload (the fixture checkpoints fully).
    z3_cfg = _tiny_cfg(zero=3, chunks=2, offload={'optimizer': False, 'params': False, 'activations': True})
    z3_dir = os.path.join(tmp, 'z3')
    z3 = _train(rank, world, z3_cfg, z3_dir)
    assert sorted(z1) == sorted(z3) == [1, 2, 3, 4]
    for s in z1:
        assert abs(z3[s] - z1[s]) <= 1e-5 * abs(z1[s]), (s, z3[s], z1[s])
    if rank == 0:  # "killed" after step 3: the newest complete checkpoint is step 2
        shutil.rmtree(os.path.join(z3_dir, 'checkpoints', 'step-4'))
    resumed = _train(rank, world, z3_cfg, z3_dir, resume=True)
    for s in (3, 4):
        assert resumed[s] == z3[s], (s, resumed[s], z3[s])  # bitwise


def test_zero3_world_4(tmp_path):
    spawn(_world_4, 4, str(tmp_path))


def test_zero3_checkpoint_refuses_other_stage(tmp_path):
    """A ZeRO-3 optimizer state cannot be loaded into a ZeRO-1 run (and the other way round)."""
    torch.manual_seed(0)
    a = C.Llama(C.ARGS)
    opt3 = ZeroAdamW(a, 3, TCFG)
    sd = opt3.state_dict()
    opt1 = ZeroAdamW(C.Llama(C.ARGS), 1, TCFG)
    with pytest.raises(ValueError, match='stage=3'):
        opt1.load_state_dict(sd)
