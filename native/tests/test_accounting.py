"""Memory accounting units (one process, no process group): storages counted once, parameters and
RoPE tables left out, nested hooks seen through, kept inputs of wrapped calls, the recompute, the
CPU allocation trace, and a measured step that trains exactly like an unmeasured one. Widths are
derived here from the model's shapes, independently of the planner (the grid compares with it)."""
import copy
import json
import os

import pytest
import torch

from dist_util import FIXTURES
from spindle.accounting import Accountant
from spindle.accounting.alloc import CpuTrace
from spindle.accounting.saved import SavedCensus, composed_hooks
from spindle.accounting.storage import distinct_bytes, storage_key
from spindle.train.loop import Trainer
from spindle.train.metrics import local_memory
from spindle.train.runtime import Proc


def tiny_cfg(**training_and_parallel):
    with open(os.path.join(FIXTURES, 'configs', 'tiny-single.json')) as f:
        cfg = json.load(f)
    cfg = copy.deepcopy(cfg)
    cfg['training'].update(seq_len=128, steps=2, loss='materialized')
    for k, v in training_and_parallel.items():
        (cfg['training'] if k in ('precision', 'loss', 'loss_chunk_tokens', 'micro_batch') else cfg['parallel'])[k] = v
    return cfg


def trainer(tmp_path, **kw):
    torch.set_num_threads(1)
    return Trainer(tiny_cfg(**kw), str(tmp_path), Proc(0, 1, 0, 1, torch.device('cpu'), 'gloo'))


def widths(cfg):
    """Bytes one block keeps per token, from the model's shapes (docs/planner.md §3.1)."""
    a = cfg['model']['architecture']
    h, q, kv, f, heads = a['hidden'], a['heads'] * a['head_dim'], a['kv_heads'] * a['head_dim'], a['ffn'], a['heads']
    e = 2 if cfg['training']['precision'] == 'bf16' else 4
    norm = 8 * h + 4
    attn = 2 * norm + e * (2 * h + 2 * q + 2 * kv) + 4 * q + 4 * heads
    return {'none': attn + 4 * f * e, 'selective': attn, 'full': e * h, 'e': e, 'h': h, 'f': f}


def test_views_share_one_storage():
    x = torch.zeros(10, 10)
    assert storage_key(x[2:5])[0] == storage_key(x.t())[0] == storage_key(x)[0]
    assert distinct_bytes([x, x[1:], x.t(), torch.zeros(3)]) == 400 + 12
    assert distinct_bytes([x], exclude={storage_key(x)[0]}) == 0


def test_nested_hooks_count_only_what_the_active_hook_keeps():
    """Inside the census a nested hook pair wins (as checkpointing and ZeRO-3 install them); a tensor
    counts when that pair keeps it on the device, and never twice."""
    model = torch.nn.Linear(4, 4)  # stand-in: the census hooks only need .layers/.norm for marks
    seen = []
    keep = lambda t: t  # noqa: E731
    drop = lambda t: None  # noqa: E731
    a = torch.ones(8, 4, requires_grad=True)
    with composed_hooks(lambda t, packed: seen.append((t.shape, packed is not None))):
        with torch.autograd.graph.saved_tensors_hooks(keep, lambda p: p):
            (a * a).sum()
        with torch.autograd.graph.saved_tensors_hooks(drop, lambda p: p):
            (a * 2 * a).sum()
    assert [k for _, k in seen] == [True, True, False, False]  # a*a: a twice; (a*2)*a: a*2 and a
    del model


@pytest.mark.parametrize('precision', ['fp32', 'bf16'])
@pytest.mark.parametrize('policy', ['none', 'selective', 'full'])
def test_census_per_layer_matches_the_block_widths(tmp_path, precision, policy):
    tr = trainer(tmp_path, precision=precision, checkpointing=policy, zero=0)
    w = widths(tr.cfg)
    T, h, e = 128, w['h'], w['e']
    with tr.accounting.measure():
        tr.train_step(1)
    rep = tr.accounting.report()
    saved = rep['saved']
    copies = 2 * 4 * h if e == 2 and policy != 'full' else 0  # bf16: fp32 copies of the norm weights
    assert saved['layers'] == [w[policy] * T + copies] * 2
    assert saved['embedding'] == 8 * T  # int64 token ids
    assert saved['rope'] == 2 * T * 8 * 4  # cos and sin, fp32, full head_dim, once for all layers
    remat = {'none': 0, 'selective': 4 * w['f'] * e * T,
             'full': w['none'] * T + (2 * 4 * h if e == 2 else 0) - (e * h * T if e == 4 else 0)}[policy]
    assert saved['remat'] == remat
    assert rep['phases']['layer_backward']['activations'] == rep['phases']['loss']['activations'] + remat
    # The loss window: 12 B per logit at the start of the cross-entropy backward, and the final
    # norm's working set (docs/planner.md §3.6); a few bytes of scalars on top.
    norm = (8 * h + 4) * T + (4 * h if e == 2 else 0)
    logits = rep['phases']['loss']['logits']
    assert 0 <= logits - (12 * T * 260 + norm) < 64


def test_cpu_trace_windows_are_exact():
    with CpuTrace() as tr:
        a = torch.empty(1000, dtype=torch.uint8)
        tr.mark('one')
        b = torch.empty(5000, dtype=torch.uint8)
        del b
        c = torch.empty(2000, dtype=torch.uint8)
        tr.mark('two')
        del a, c
    w = tr.windows()
    # Each mark is a record_function range, which allocates a few hundred bytes of its own.
    near = lambda got, want: want <= got <= want + 512  # noqa: E731
    assert near(w['start'][1], 1000)
    assert near(w['one'][0], 1000) and near(w['one'][1], 6000)
    assert near(w['two'][0], 3000) and near(w['step'][1], 6000)


def _gloo_collectives_in_a_trace(rank, world):
    from spindle import comm
    group = torch.distributed.group.WORLD
    n = 1 << 14
    shard, out, big = torch.randn(n), torch.empty(world * n), torch.randn(world * n)
    x = torch.randn(world * 64, 32, dtype=torch.bfloat16)  # travels as fp32: two temporaries
    leaks = []
    for trial in range(5):
        with CpuTrace() as tr:
            for i in range(10):
                comm.all_gather_into(out, shard, group)
                comm.reduce_scatter_sum(shard, big, group)
                y = comm.all_to_all(x, group)
                del y
                tr.mark(f'after{i}')
        leaks.append(tr.marks[-1][1] - tr.marks[0][1])
    # Every temporary here is 16 KiB or more; the trace's own marks may keep a few hundred bytes.
    assert all(0 <= b < 1024 for b in leaks), f'rank {rank}: bytes the trace saw allocated and never freed, per trial: {leaks}'


def test_gloo_collective_temporaries_are_freed_where_the_trace_sees_them():
    """Gloo's worker thread may hold the last reference to a collective's tensors; a free there
    is invisible to the CPU profiler and made ZeRO-3's measured loss peak vary from run to run."""
    from dist_util import spawn
    spawn(_gloo_collectives_in_a_trace, 2)


def test_a_measured_step_trains_exactly_like_an_unmeasured_one(tmp_path):
    losses = []
    for measure in (True, False):
        tr = trainer(tmp_path / str(measure), precision='bf16', checkpointing='full', zero=1)
        out = []
        for step in (1, 2):
            with tr.accounting.measure(measure and step == 1):
                out.append(tr.train_step(step)[:3])
        losses.append(out)
        assert (tr.accounting.report() is not None) == measure
    assert losses[0] == losses[1]


def test_memory_event_body_carries_both_moments(tmp_path):
    tr = trainer(tmp_path, precision='fp32', checkpointing='selective', zero=2)
    with tr.accounting.measure():
        tr.train_step(1)
    body = local_memory(tr.opt, tr.proc.device, tr.accounting.report())
    assert body['phase'] in ('loss', 'layer_backward')
    assert body['terms'] == body['phases'][body['phase']]
    assert set(body['phases']['loss']) == {'weights', 'grads', 'optimizer', 'comm_buffers', 'activations',
                                           'workspace', 'logits'}
    assert body['peaks']['step'] >= max(body['peaks']['loss'], body['peaks']['layer_backward'])
    assert body['rss_bytes'] > 0 and body['cuda'] is None
    json.dumps(body)  # one JSON line
    # Without the accounting (e.g. a resumed run that did not measure): states only, as before.
    assert set(local_memory(tr.opt, tr.proc.device)['terms']) == {'weights', 'grads', 'optimizer', 'comm_buffers'}


def test_census_is_closed_after_the_step(tmp_path):
    tr = trainer(tmp_path, precision='fp32', checkpointing='full', zero=0)
    original = torch.autograd.graph.saved_tensors_hooks
    with tr.accounting.measure():
        tr.train_step(1)
    assert torch.autograd.graph.saved_tensors_hooks is original
    assert torch.utils.checkpoint.checkpoint.__module__ == 'torch.utils.checkpoint'
    assert not any(b._forward_pre_hooks for b in tr.model.layers)
    census = SavedCensus(tr.model, 'none')
    assert census.remat_bytes() == 0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_step_reports_allocator_peaks(tmp_path):
    """On a GPU: the same saved-tensor census (torch 2.x keeps no squared norm input), and the
    allocator's peaks for the step and each moment, with max_allocated and max_reserved in the event."""
    torch.cuda.set_device(0)
    cfg = tiny_cfg(precision='bf16', checkpointing='none', zero=0)
    tr = Trainer(cfg, str(tmp_path), Proc(0, 1, 0, 1, torch.device('cuda', 0), 'nccl'))
    with tr.accounting.measure():
        tr.train_step(1)
    rep = tr.accounting.report()
    w = widths(cfg)
    assert rep['saved']['layers'] == [w['none'] * 128 + 2 * 4 * w['h']] * 2
    body = local_memory(tr.opt, tr.proc.device, rep)
    assert body['cuda']['max_allocated'] == rep['peaks']['step'] >= rep['peaks']['loss'] > 0
    assert body['cuda']['max_reserved'] >= body['cuda']['max_allocated']
    assert body['cuda']['device_used'] > body['cuda']['reserved']
