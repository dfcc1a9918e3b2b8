"""The planner-validation grid: many layouts of the tiny model, each trained for 2 steps by the
real Trainer, with the memory accounting on its first step; then compared with the real
TypeScript planner (scripts/planner-compare.ts, which uses app/planner/compare.ts).

Speed: one spawned gloo world per world size runs all of that size's configs in turn (each
builds its own mesh and groups inside the same process group), instead of one torchrun per
config. Run it directly to produce run dirs for the docs table:
    python3 native/tests/grid_util.py OUT_DIR      # prints {"case": "run dir", ...}
"""
import copy
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from dist_util import FIXTURES, NATIVE, REPO, spawn  # noqa: E402

# (name, parallel degrees, changes). Names say what varies: u/r/dp degrees (rc = contiguous ring),
# precision, checkpointing, ZeRO stage, and extras: mat = materialized loss (else chunked, 4096
# tokens a chunk, the runtime's default), c64 = chunked with 64-token chunks, ch2 = FPDT chunks 2,
# nopack = unpacked documents, mb2 = micro_batch 2, ga2 = grad_accum 2. All run seq_len 256.
MAT = dict(loss='materialized')
CASES = [
    ('1-fp32-none-z0-mat', dict(u=1, r=1, dp=1), dict(precision='fp32', checkpointing='none', zero=0, **MAT)),
    ('1-bf16-none-z0', dict(u=1, r=1, dp=1), dict(precision='bf16', checkpointing='none', zero=0)),
    ('1-bf16-selective-z1-mat', dict(u=1, r=1, dp=1), dict(precision='bf16', checkpointing='selective', zero=1, **MAT)),
    ('1-fp32-full-z2', dict(u=1, r=1, dp=1), dict(precision='fp32', checkpointing='full', zero=2)),
    ('1-bf16-full-z3-nopack-mat', dict(u=1, r=1, dp=1), dict(precision='bf16', checkpointing='full', zero=3, pack=False,
                                                           **MAT)),
    ('1-fp32-selective-z1-mb2-ga2-c64', dict(u=1, r=1, dp=1), dict(precision='fp32', checkpointing='selective', zero=1,
                                                                   micro_batch=2, grad_accum=2, loss_chunk_tokens=64)),
    ('1-bf16-none-z1-ch2', dict(u=1, r=1, dp=1), dict(precision='bf16', checkpointing='none', zero=1, chunks=2)),
    ('u2-bf16-none-z1-mat', dict(u=2, r=1, dp=1), dict(precision='bf16', checkpointing='none', zero=1, **MAT)),
    ('u2-fp32-full-z2', dict(u=2, r=1, dp=1), dict(precision='fp32', checkpointing='full', zero=2)),
    ('u2-bf16-none-z3-mat', dict(u=2, r=1, dp=1), dict(precision='bf16', checkpointing='none', zero=3, **MAT)),
    ('u2-fp32-selective-z1-ch2', dict(u=2, r=1, dp=1), dict(precision='fp32', checkpointing='selective', zero=1, chunks=2)),
    ('r2-bf16-selective-z0', dict(u=1, r=2, dp=1), dict(precision='bf16', checkpointing='selective', zero=0)),
    ('rc2-fp32-none-z1-mat', dict(u=1, r=2, dp=1, variant='contiguous'), dict(precision='fp32', checkpointing='none', zero=1,
                                                                            **MAT)),
    ('dp2-bf16-full-z2', dict(u=1, r=1, dp=2), dict(precision='bf16', checkpointing='full', zero=2)),
    ('dp2-fp32-none-z0-nopack', dict(u=1, r=1, dp=2), dict(precision='fp32', checkpointing='none', zero=0, pack=False)),
    ('dp2-bf16-selective-z3-ga2', dict(u=1, r=1, dp=2), dict(precision='bf16', checkpointing='selective', zero=3,
                                                             grad_accum=2)),
    ('u2r2-fp32-full-z1', dict(u=2, r=2, dp=1), dict(precision='fp32', checkpointing='full', zero=1)),
    ('u2r2-bf16-none-z2-mat', dict(u=2, r=2, dp=1), dict(precision='bf16', checkpointing='none', zero=2, **MAT)),
    ('u2r2-bf16-none-z1-ch2', dict(u=2, r=2, dp=1), dict(precision='bf16', checkpointing='none', zero=1, chunks=2)),
    ('u4-bf16-selective-z1', dict(u=4, r=1, dp=1), dict(precision='bf16', checkpointing='selective', zero=1)),
    ('u4-fp32-none-z0-mat', dict(u=4, r=1, dp=1), dict(precision='fp32', checkpointing='none', zero=0, **MAT)),
    ('r4-bf16-full-z2', dict(u=1, r=4, dp=1), dict(precision='bf16', checkpointing='full', zero=2)),
    ('rc4-fp32-selective-z3', dict(u=1, r=4, dp=1, variant='contiguous'), dict(precision='fp32', checkpointing='selective',
                                                                               zero=3)),
    ('dp2u2-bf16-none-z3-mat', dict(u=2, r=1, dp=2), dict(precision='bf16', checkpointing='none', zero=3, **MAT)),
    ('dp2r2-fp32-selective-z2-nopack', dict(u=1, r=2, dp=2), dict(precision='fp32', checkpointing='selective', zero=2,
                                                                   pack=False)),
    ('dp4-bf16-full-z0-c64', dict(u=1, r=1, dp=4), dict(precision='bf16', checkpointing='full', zero=0,
                                                        loss_chunk_tokens=64)),
    ('dp2u2-bf16-full-z2-mb2', dict(u=2, r=1, dp=2), dict(precision='bf16', checkpointing='full', zero=2, micro_batch=2)),
]

TRAINING_KEYS = ('precision', 'micro_batch', 'grad_accum', 'seq_len', 'loss', 'loss_chunk_tokens')


def case_config(name, degrees, changes):
    """The normalized tiny-cpu config with this case's layout and changes, 2 steps."""
    with open(os.path.join(FIXTURES, 'configs', 'tiny-cpu.json')) as f:
        cfg = json.load(f)
    cfg = copy.deepcopy(cfg)
    cfg['name'] = f'grid-{name}'
    world = degrees['u'] * degrees['r'] * degrees['dp']
    cfg['cluster'].update(gpu='cpu', nodes=1, gpus_per_node=world)
    p = cfg['parallel']
    p.update(ulysses=degrees['u'], ring=degrees['r'], ring_variant=degrees.get('variant', 'zigzag'))
    t = cfg['training']
    t.update(steps=2, seq_len=256, checkpoint_every=0, warmup_steps=1)
    t.update(loss='chunked', loss_chunk_tokens=4096)
    for k, v in changes.items():
        if k in TRAINING_KEYS:
            t[k] = v
        elif k == 'pack':
            cfg['data']['pack'] = v
        else:
            p[k] = v
    return cfg


def _worker(rank, world, cases, out_dir):
    import torch
    from spindle.train.loop import Trainer
    from spindle.train.runtime import Proc
    proc = Proc(rank, world, rank, world, torch.device('cpu'), 'gloo')
    sys.stdout = open(os.devnull, 'w')  # rank 0 echoes every event; the run dirs have them
    for name, cfg in cases:
        run_dir = os.path.join(out_dir, name)
        os.makedirs(run_dir, exist_ok=True)
        if rank == 0:
            with open(os.path.join(run_dir, 'config.json'), 'w') as f:
                json.dump(cfg, f, indent=1)
        t0 = time.time()
        Trainer(cfg, run_dir, proc).run()
        if rank == 0:
            with open(os.path.join(run_dir, 'wall_s'), 'w') as f:
                f.write(f'{time.time() - t0:.3f}\n')


def run_grid(out_dir, cases=CASES):
    """Train every case; returns {name: run dir}. One spawn per world size."""
    by_world = {}
    for name, degrees, changes in cases:
        cfg = case_config(name, degrees, changes)
        by_world.setdefault(cfg['cluster']['gpus_per_node'], []).append((name, cfg))
    for world in sorted(by_world):
        spawn(_worker, world, by_world[world], out_dir)
    return {name: os.path.join(out_dir, name) for name, _, _ in cases}


def events(run_dir):
    with open(os.path.join(run_dir, 'events.jsonl')) as f:
        return [json.loads(line) for line in f if line.strip()]


def tsx():
    return os.path.join(REPO, 'node_modules', '.bin', 'tsx')


def compare(run_dirs, extra=()):
    """Rows of app/planner/compare.ts for each run dir (predictions by the real planner, with the
    torch behaviour of the run's own torch version), as {name: result}."""
    cmd = [tsx(), os.path.join(REPO, 'scripts', 'planner-compare.ts'), '--json', *extra, *run_dirs]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f'planner-compare failed ({r.returncode}):\n{r.stderr[-4000:]}')
    return json.loads(r.stdout)


if __name__ == '__main__':
    out = os.path.abspath(sys.argv[1])
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    dirs = run_grid(out)
    print(json.dumps({'run_dirs': dirs, 'wall_s': round(time.time() - t0, 1)}))


# ---- checks (used by test_grid.py and the docs table) ----------------------------------------
STATE_TERMS = ('weights', 'grads', 'optimizer', 'comm_buffers')
ACTIVATION_TOLERANCE = 0.02


def check(comparisons):
    """Raise AssertionError naming every (config, moment, term) that disagrees: states (and the
    RoPE tables, the loss moment's workspace) must equal the prediction, saved activations (totals, each layer, embedding, recompute) and the loss's bytes
    must be within 2 %. Independent of compare.ts's own verdict, so neither can loosen the other."""
    problems = []
    for name, c in comparisons.items():
        if c['ranks'] < 1:
            problems.append(f'{name}: no memory events')
        for r in c['rows']:
            term, m, p = r['term'], r['measured'], r['predicted']
            base = term.split(':')[0]
            if base == 'workspace' and r['phase'] == 'loss':
                base = 'weights'  # at the loss moment workspace is the RoPE tables: exact, like a state
            if base in STATE_TERMS or base in ('activations', 'logits'):
                if m is None:
                    problems.append(f'{name} {r["phase"]} {term}: not measured')
                elif base in STATE_TERMS and m != p:
                    problems.append(f'{name} {r["phase"]} {term}: measured {m} != predicted {p}')
                elif base not in STATE_TERMS and abs(m - p) > ACTIVATION_TOLERANCE * p:
                    problems.append(f'{name} {r["phase"]} {term}: measured {m} vs predicted {p} '
                                    f'({(m - p) / p * 100:+.2f} %)')
    if problems:
        raise AssertionError(f'{len(problems)} disagreement(s):\n' + '\n'.join(problems))


def max_errors(comparisons):
    """{(moment, term): (largest |relative error|, config)} with per-layer rows folded into one."""
    out = {}
    for name, c in comparisons.items():
        for r in c['rows']:
            if r['error'] is None:
                continue
            term = 'activations: each layer' if r['term'].startswith('activations: layer') else r['term']
            key = (r['phase'], term)
            if key not in out or abs(r['error']) > abs(out[key][0]):
                out[key] = (r['error'], name)
    return out
