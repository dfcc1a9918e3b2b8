"""End to end through the CLI: torchrun on 4 gloo processes, loss curves equal to one process,
kill + resume bitwise, SIGTERM -> stopped, the run dir layout, bf16 / ZeRO-2 / SFT / Qwen2 runs."""
import json
import os
import signal

import pytest

import run_util as R
from dist_util import FIXTURES

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """The normalized tiny-cpu config as shipped (ulysses 2 x ring 2 zigzag, ZeRO-1, full
    checkpointing, 30 steps) under torchrun with 4 processes; the reference of later tests."""
    run_dir = str(tmp_path_factory.mktemp('tiny') / 'run')
    rc, out, wall = R.run(os.path.join(FIXTURES, 'configs', 'tiny-cpu.json'), run_dir, nproc=4)
    return rc, out, wall, run_dir


def test_torchrun_tiny_cpu_finishes_fast_and_learns(tiny):
    rc, out, wall, run_dir = tiny
    assert rc == 0, out[-3000:]
    assert wall < 120, f'took {wall:.0f}s'
    ev = R.events(run_dir)
    assert ev[0]['type'] == 'run_start' and ev[0]['world'] == 4
    assert ev[0]['layout'] == {'dp': 1, 'ring': 2, 'ulysses': 2, 'zero': 1, 'checkpointing': 'full', 'chunks': 1,
                               'ring_variant': 'zigzag'}
    loss = R.losses(run_dir)
    assert sorted(loss) == list(range(1, 31))
    first, last = loss[1], sum(loss[s] for s in range(26, 31)) / 5
    assert last < first - 1.0, (first, last)
    mem = [e for e in ev if e['type'] == 'memory']
    assert sorted(e['rank'] for e in mem) == [0, 1, 2, 3]
    assert all(e['terms']['weights'] > 0 and e['terms']['optimizer'] > 0 for e in mem)
    assert ev[-1] == {**ev[-1], 'type': 'run_end', 'status': 'succeeded', 'step': 30}
    # Run dir: config, one log per rank, a complete final checkpoint; rank 0 also printed events.
    assert json.load(open(os.path.join(run_dir, 'config.json')))['name'] == 'tiny-llama-cpu'
    assert sorted(os.listdir(os.path.join(run_dir, 'logs'))) == [f'rank-{r}.log' for r in range(4)]
    ck = os.path.join(run_dir, 'checkpoints', 'step-30')
    assert sorted(os.listdir(ck)) == ['meta.json', 'model.pt'] + [f'optim-rank-{r}.pt' for r in range(4)]
    assert '"type":"run_end"' in out


def test_loss_curve_equals_single_process(tiny, tmp_path):
    """The same config on one process (ulysses 1, ring 1): every step's loss within 1e-5."""
    sp_dir = tiny[3]
    cfg = os.path.join(FIXTURES, 'configs', 'tiny-single.json')
    rc, out, _ = R.run(cfg, str(tmp_path / 'run'))
    assert rc == 0, out[-3000:]
    a, b = R.losses(sp_dir), R.losses(str(tmp_path / 'run'))
    assert sorted(a) == sorted(b) == list(range(1, 31))
    for s in a:
        assert abs(a[s] - b[s]) <= 1e-5 * abs(b[s]), (s, a[s], b[s])


def test_kill_at_step_10_then_resume_is_bitwise(tiny, tmp_path):
    ref_dir = tiny[3]
    cfg = R.config(tmp_path, 'tiny-cpu', training={'checkpoint_every': 5})  # same numerics as tiny-cpu
    run_dir = str(tmp_path / 'run')
    p = R.start(cfg, run_dir, nproc=4)
    try:
        assert R.wait_for(run_dir, lambda e: e['type'] == 'checkpoint' and e['step'] == 10)
    finally:
        R.kill_group(p, signal.SIGKILL)
        p.wait()
    assert not any(e['type'] == 'run_end' for e in R.events(run_dir))
    # Resume, and stop watching once step 20 is out (the acceptance window is steps 11-20).
    p = R.start(cfg, run_dir, nproc=4)
    try:
        assert R.wait_for(run_dir, lambda e: e['type'] == 'step' and e['step'] == 20)
    finally:
        R.kill_group(p, signal.SIGKILL)
        p.wait()
    starts = [e for e in R.events(run_dir) if e['type'] == 'run_start']
    assert len(starts) == 2 and starts[-1]['resumed_from'] in (10, 15)
    ref, got = R.losses(ref_dir), R.losses(run_dir)
    for s in range(11, 21):
        assert got[s] == ref[s], (s, got[s], ref[s])  # bitwise: JSON floats round-trip exactly
    # --no-resume starts over: one process could not load these 4-rank checkpoints.
    one = R.config(tmp_path, 'tiny-single', training={'steps': 2})
    rc, out, _ = R.run(one, run_dir, extra=['--no-resume'])
    assert rc == 0, out[-3000:]
    assert [e for e in R.events(run_dir) if e['type'] == 'run_start'][-1]['resumed_from'] is None


def test_sigterm_stops_promptly(tmp_path):
    cfg = R.config(tmp_path, 'tiny-qwen2', training={'steps': 100000, 'checkpoint_every': 0})
    run_dir = str(tmp_path / 'run')
    p = R.start(cfg, run_dir, nproc=2)
    try:
        assert R.wait_for(run_dir, lambda e: e['type'] == 'step' and e['step'] >= 2)
        R.kill_group(p, signal.SIGTERM)
        p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            R.kill_group(p, signal.SIGKILL)
    end = [e for e in R.events(run_dir) if e['type'] == 'run_end']
    assert len(end) == 1 and end[0]['status'] == 'stopped' and end[0]['step'] >= 2


@pytest.mark.parametrize('fixture,nproc', [('tiny-bf16', 4), ('tiny-sft', 2), ('tiny-qwen2', 2)])
def test_variant_configs_train(fixture, nproc, tmp_path):
    run_dir = str(tmp_path / 'run')
    rc, out, _ = R.run(os.path.join(FIXTURES, 'configs', fixture + '.json'), run_dir, nproc=nproc)
    assert rc == 0, out[-3000:]
    ev = R.events(run_dir)
    loss = R.losses(run_dir)
    assert ev[-1]['type'] == 'run_end' and ev[-1]['status'] == 'succeeded'
    assert all(0 < v < 10 for v in loss.values()), loss
    if fixture == 'tiny-qwen2':  # checkpoint_every 2 over 4 steps
        assert [e['step'] for e in ev if e['type'] == 'checkpoint'] == [2, 4]


def test_bad_config_is_reported_in_the_run_dir(tmp_path):
    cfg = R.config(tmp_path, 'tiny-single', training={'bogus': 1})
    run_dir = str(tmp_path / 'run')
    rc, out, _ = R.run(cfg, run_dir)
    assert rc != 0 and 'training.bogus: unknown field' in out
    ev = R.events(run_dir)
    assert [e['type'] for e in ev] == ['error', 'run_end']
    assert 'training.bogus: unknown field' in ev[0]['message'] and ev[1]['status'] == 'failed'


def test_single_kv_head_under_ulysses_2_ring_2_equals_one_process(tmp_path):
    """kv_heads 1 < ulysses 2 (the KV head is replicated into both Ulysses ranks) with a ring of 2,
    against one process: per-step losses within 1e-4 relative, on 4 gloo processes."""
    with open(os.path.join(FIXTURES, 'configs', 'tiny-cpu.json')) as f:
        arch = json.load(f)['model']['architecture']
    arch = dict(arch, kv_heads=1)
    common = dict(model={'architecture': arch}, training={'steps': 8, 'checkpoint_every': 0})
    sp = R.config(tmp_path, 'tiny-cpu', **common)
    one = R.config(tmp_path, 'tiny-cpu', **common, parallel={'ulysses': 1, 'ring': 1},
                   cluster={'gpus_per_node': 1})
    rc, out, _ = R.run(sp, str(tmp_path / 'sp'), nproc=4)
    assert rc == 0, out[-3000:]
    rc, out, _ = R.run(one, str(tmp_path / 'one'))
    assert rc == 0, out[-3000:]
    a, b = R.losses(str(tmp_path / 'sp')), R.losses(str(tmp_path / 'one'))
    assert sorted(a) == sorted(b) == list(range(1, 9))
    for s in a:
        assert abs(a[s] - b[s]) <= 1e-4 * abs(b[s]), (s, a[s], b[s])
