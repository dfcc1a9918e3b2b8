"""Checkpoints: <run_dir>/checkpoints/step-<N>/ with model.pt (full weights by parameter
name, written by each node's local rank 0), optim-rank-<R>.pt (each rank's optimizer shard and step) and meta.json.
Written into a temporary directory and renamed once every rank has finished, so a directory
named step-<N> is always complete; resume picks the newest one."""
import json
import os
import re
import shutil

import torch
import torch.distributed as dist

DIR_RE = re.compile(r'^step-(\d+)$')


def _barrier():
    if dist.is_initialized():
        dist.barrier()


def ckpt_root(run_dir):
    return os.path.join(run_dir, 'checkpoints')


def save(run_dir, step, model, opt, meta, rank, local_rank):
    """Collective: every rank calls it. Returns the final path (relative to run_dir)."""
    root = ckpt_root(run_dir)
    final = os.path.join(root, f'step-{step}')
    tmp = os.path.join(root, f'.tmp-step-{step}')
    # One writer per node creates and renames (the run dir is per node; on a shared file system
    # the rename is guarded by the existence checks).
    if local_rank == 0:
        os.makedirs(root, exist_ok=True)
        if os.path.exists(tmp):
            shutil.rmtree(tmp)
        os.makedirs(tmp, exist_ok=True)
    _barrier()
    os.makedirs(tmp, exist_ok=True)
    # Every node keeps full weights, so each node's run dir can resume. Under ZeRO-3 assembling
    # them is a collective (every rank takes part; each node's local rank 0 keeps the result).
    weights = opt.full_weights(materialize=local_rank == 0)
    if local_rank == 0:
        torch.save(weights, os.path.join(tmp, 'model.pt'))
    del weights
    torch.save(opt.state_dict(), os.path.join(tmp, f'optim-rank-{rank}.pt'))
    _barrier()
    if local_rank == 0 and os.path.exists(tmp):
        with open(os.path.join(tmp, 'meta.json'), 'w') as f:
            json.dump({**meta, 'step': step}, f, indent=1)
        if os.path.exists(final):
            shutil.rmtree(final)
        os.rename(tmp, final)
    _barrier()
    return os.path.relpath(final, run_dir)


def latest(run_dir):
    """(step, path) of the newest complete checkpoint, or None."""
    root = ckpt_root(run_dir)
    if not os.path.isdir(root):
        return None
    found = []
    for name in os.listdir(root):
        m = DIR_RE.match(name)
        if m and os.path.exists(os.path.join(root, name, 'meta.json')):
            found.append((int(m.group(1)), os.path.join(root, name)))
    return max(found) if found else None


def load(path, model, opt, rank):
    with open(os.path.join(path, 'meta.json')) as f:
        meta = json.load(f)
    weights = torch.load(os.path.join(path, 'model.pt'), map_location='cpu')
    shapes = opt.param_shapes  # the full shapes, also under ZeRO-3 where parameters are shards
    if set(weights) != set(shapes):
        raise ValueError(f'checkpoint {path} holds a different model (parameter names differ); pass --no-resume')
    for n, shape in shapes.items():
        if tuple(weights[n].shape) != shape:
            raise ValueError(f'checkpoint {path}: {n} has shape {tuple(weights[n].shape)}, model has {shape}')
    opt.load_full_weights(weights)
    opt_file = os.path.join(path, f'optim-rank-{rank}.pt')
    if not os.path.exists(opt_file):
        raise ValueError(f'checkpoint {path} has no optimizer state for rank {rank} (written by a different world size); '
                         'pass --no-resume')
    opt.load_state_dict(torch.load(opt_file, map_location='cpu'))
    return meta
