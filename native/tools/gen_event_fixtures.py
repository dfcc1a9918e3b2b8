"""Regenerate resources/fixtures/events/*.jsonl with the real runtime (CPU, gloo, torchrun).

  /usr/bin/python3 native/tools/gen_event_fixtures.py

succeeded.jsonl  tiny-cpu (4 processes, ulysses 2 x ring 2), 6 steps, checkpoints at 3 and 6
stopped.jsonl    tiny-qwen2 (2 processes, ring 2) stopped with SIGTERM to the process group
failed.jsonl     tiny-cpu with seq_len 500 (not divisible by 2 x ring x ulysses): every rank
                 reports the error, then run_end failed
Both sides test these lines: native/tests/test_events.py and app/metrics/events.test.ts.
"""
import os
import shutil
import signal
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'tests'))

import run_util as R  # noqa: E402
from dist_util import FIXTURES  # noqa: E402

OUT = os.path.join(FIXTURES, 'events')


def keep(run_dir, name):
    shutil.copy(os.path.join(run_dir, 'events.jsonl'), os.path.join(OUT, name))
    print(f'wrote {name}: {len(R.events(run_dir))} events')


def main():
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp()
    cfg = R.config(tmp, 'tiny-cpu', training={'steps': 6, 'checkpoint_every': 3})
    rc, out, _ = R.run(cfg, os.path.join(tmp, 'ok'), nproc=4)
    assert rc == 0, out
    keep(os.path.join(tmp, 'ok'), 'succeeded.jsonl')

    cfg = R.config(tmp, 'tiny-qwen2', training={'steps': 100000, 'checkpoint_every': 0})
    run_dir = os.path.join(tmp, 'stop')
    p = R.start(cfg, run_dir, nproc=2)
    assert R.wait_for(run_dir, lambda e: e['type'] == 'step' and e['step'] >= 3)
    R.kill_group(p, signal.SIGTERM)
    p.communicate(timeout=60)
    keep(run_dir, 'stopped.jsonl')

    cfg = R.config(tmp, 'tiny-cpu', training={'seq_len': 500})
    rc, out, _ = R.run(cfg, os.path.join(tmp, 'fail'), nproc=4)
    assert rc != 0
    keep(os.path.join(tmp, 'fail'), 'failed.jsonl')
    shutil.rmtree(tmp)


if __name__ == '__main__':
    main()
