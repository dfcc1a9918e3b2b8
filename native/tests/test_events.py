"""Events the runtime writes have the shapes of the shared fixtures (which app/metrics/events.ts
parses in app/metrics/events.test.ts) and of the zod schema transcribed below."""
import glob
import json
import os
import re

import pytest

import run_util as R
from dist_util import FIXTURES, REPO
from spindle.train.events import EVENTS_VERSION

FIXTURE_FILES = sorted(glob.glob(os.path.join(FIXTURES, 'events', '*.jsonl')))

# app/metrics/events.ts, field by field: required keys, optional keys (may be absent).
BASE = {'v', 't', 'type'}
SCHEMA = {
    'run_start': ({'name', 'config_hash', 'world', 'nodes', 'layout', 'device', 'versions'}, {'resumed_from'}),
    'step': ({'step', 'loss', 'lr', 'grad_norm', 'tokens', 'tokens_per_s', 'elapsed_s'}, {'mfu', 'eval_loss'}),
    'memory': ({'step', 'rank', 'terms'}, {'node', 'cuda', 'rss_bytes', 'phase', 'phases', 'saved', 'peaks'}),
    'checkpoint': ({'step', 'path'}, set()),
    'error': ({'rank', 'message'}, {'traceback'}),
    'run_end': ({'status', 'step', 'elapsed_s'}, set()),
}
NULLABLE = {'resumed_from', 'mfu', 'eval_loss', 'cuda', 'rss_bytes', 'rank', 'peaks'}
LAYOUT = {'dp', 'ring', 'ulysses', 'zero', 'checkpointing', 'chunks', 'ring_variant'}
# app/planner/types.ts MEMORY_TERMS
MEMORY_TERMS = {'weights', 'grads', 'optimizer', 'activations', 'logits', 'comm_buffers', 'workspace', 'framework', 'nccl',
                'fragmentation'}


def jtype(v):
    return {bool: 'bool', int: 'number', float: 'number', str: 'string', type(None): 'null', list: 'array', dict: 'object'}[type(v)]


def check_event(e):
    assert e['v'] == EVENTS_VERSION and isinstance(e['t'], float)
    req, opt = SCHEMA[e['type']]
    keys = set(e) - BASE
    assert req <= keys, f'{e["type"]}: missing {req - keys}'
    assert keys <= req | opt, f'{e["type"]}: unexpected {keys - req - opt}'
    for k, v in e.items():
        if v is None:
            assert k in NULLABLE, f'{e["type"]}.{k} is null'
    if e['type'] == 'run_start':
        assert set(e['layout']) == LAYOUT and set(e['versions']) == {'spindle', 'python', 'torch', 'cuda'}
    if e['type'] == 'memory':
        assert set(e['terms']) <= MEMORY_TERMS and all(v >= 0 for v in e['terms'].values())
        assert {'weights', 'grads', 'optimizer'} <= set(e['terms'])
    if e['type'] == 'step':
        assert e['step'] >= 1 and e['tokens'] >= 0 and e['tokens_per_s'] >= 0
    if e['type'] == 'run_end':
        assert e['status'] in ('succeeded', 'failed', 'stopped')


def shapes(events):
    """type -> {key: json type}; nullable keys accept null or their type."""
    out = {}
    for e in events:
        s = out.setdefault(e['type'], {})
        for k, v in e.items():
            s.setdefault(k, set()).add(jtype(v))
    return out


def fixture_events():
    ev = []
    for path in FIXTURE_FILES:
        with open(path) as f:
            ev += [json.loads(line) for line in f if line.strip()]
    return ev


def test_version_matches_the_typescript_contract():
    with open(os.path.join(REPO, 'app', 'metrics', 'events.ts')) as f:
        m = re.search(r'EVENTS_VERSION\s*=\s*(\d+)', f.read())
    assert m and int(m.group(1)) == EVENTS_VERSION


def test_fixtures_cover_every_event_type_and_are_valid():
    ev = fixture_events()
    assert {e['type'] for e in ev} == set(SCHEMA)
    assert {e['status'] for e in ev if e['type'] == 'run_end'} == {'succeeded', 'failed', 'stopped'}
    for e in ev:
        check_event(e)


@pytest.mark.slow
def test_emitted_events_have_the_fixture_shapes(tmp_path):
    cfg = R.config(tmp_path, 'tiny-single', training={'steps': 2, 'checkpoint_every': 1, 'seq_len': 64})
    rc, out, _ = R.run(cfg, str(tmp_path / 'ok'))
    assert rc == 0, out
    bad = R.config(tmp_path, 'tiny-single', parallel={'offload': {'optimizer': False, 'params': True, 'activations': False}})
    rc, out, _ = R.run(bad, str(tmp_path / 'bad'))
    assert rc == 1, out
    emitted = R.events(str(tmp_path / 'ok')) + R.events(str(tmp_path / 'bad'))
    # stdout carries the same lines (rank 0), each flushed on its own line.
    printed = [json.loads(line) for line in out.splitlines() if line.startswith('{')]
    assert [e['type'] for e in printed] == ['error', 'run_end']
    for e in emitted:
        check_event(e)
    want, got = shapes(fixture_events()), shapes(emitted)
    assert set(got) == set(SCHEMA)
    for typ, fields in got.items():
        assert set(fields) == set(want[typ]), typ
        for k, types in fields.items():
            assert types - {'null'} <= want[typ][k] | ({'number'} if k in NULLABLE else set()), (typ, k, types, want[typ][k])
