"""Launching real training runs from tests: torchrun or a plain process, run dirs, events."""
import json
import os
import signal
import subprocess
import sys
import time

from dist_util import FIXTURES, NATIVE


def command(config, run_dir, nproc=1, extra=()):
    train = ['-m', 'spindle', 'train', config, '--run-dir', run_dir, *extra]
    if nproc == 1:
        return [sys.executable, *train]
    return [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', str(nproc), *train]


def env():
    e = dict(os.environ)
    e['PYTHONPATH'] = NATIVE + os.pathsep + e.get('PYTHONPATH', '')
    e['OMP_NUM_THREADS'] = '1'
    return e


def config(tmp_path, fixture, **changes):
    """Write fixture <name>.json with changes like training={'steps': 20} into tmp_path."""
    with open(os.path.join(FIXTURES, 'configs', fixture + '.json')) as f:
        cfg = json.load(f)
    for section, vals in changes.items():
        cfg[section].update(vals)
    p = os.path.join(str(tmp_path), f'{fixture}-{abs(hash(json.dumps(changes, sort_keys=True))) % 10**8}.json')
    with open(p, 'w') as f:
        json.dump(cfg, f)
    return p


def start(config_path, run_dir, nproc=1, extra=()):
    # Own session: the test can signal the whole group, as the studio's launcher does.
    return subprocess.Popen(command(config_path, run_dir, nproc, extra), env=env(), cwd=os.path.dirname(NATIVE),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def run(config_path, run_dir, nproc=1, extra=(), timeout=240):
    t = time.time()
    p = start(config_path, run_dir, nproc, extra)
    out, _ = p.communicate(timeout=timeout)
    return p.returncode, out, time.time() - t


def events(run_dir):
    path = os.path.join(run_dir, 'events.jsonl')
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def losses(run_dir):
    """step -> loss, the last value written for each step (a resumed run rewrites later steps)."""
    return {e['step']: e['loss'] for e in events(run_dir) if e['type'] == 'step'}


def wait_for(run_dir, pred, timeout=180):
    end = time.time() + timeout
    while time.time() < end:
        if any(pred(e) for e in events(run_dir)):
            return True
        time.sleep(0.2)
    return False


def kill_group(p, sig):
    os.killpg(p.pid, sig)


__all__ = ['command', 'config', 'env', 'events', 'losses', 'run', 'start', 'wait_for', 'kill_group', 'signal']
