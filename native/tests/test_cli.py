"""The command line as the studio calls it: `check` for node probes, `validate`, usage errors."""
import json
import os
import subprocess
import sys

from dist_util import FIXTURES, NATIVE, REPO


def spindle(*args, cwd=REPO):
    env = dict(os.environ, PYTHONPATH=NATIVE)
    return subprocess.run([sys.executable, '-m', 'spindle', *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_check_prints_one_json_object():
    r = spindle('check')
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    info = json.loads(lines[0])
    assert {'python', 'torch', 'cuda', 'nccl', 'gpus', 'cpu_count', 'spindle'} <= set(info)
    assert info['torch'] and info['cpu_count'] >= 1 and isinstance(info['gpus'], list)
    import torch
    assert info['torch'] == torch.__version__ and info['torch_required'] == '>=2.4'
    assert info['torch_supported'] is True and info['error'] is None
    for g in info['gpus']:
        assert {'name', 'memory_bytes'} <= set(g)


def test_torch_versions_the_runtime_supports():
    from spindle.check import torch_supported, unsupported_torch_message
    for v in ('2.4.0', '2.4.1+cu121', '2.11.0+cu130', '2.10.0a0+git123', '3.0'):
        assert torch_supported(v), v
    for v in ('1.13.0a0', '1.13.1+cu117', '2.3.1', '2', 'nonsense'):
        assert not torch_supported(v), v
    assert unsupported_torch_message('1.13.0a0').startswith('torch 1.13.0a0 is older than the runtime supports (torch >= 2.4)')


def test_runs_from_inside_native_too():
    r = subprocess.run([sys.executable, '-m', 'spindle', 'validate', os.path.join(FIXTURES, 'configs', 'tiny-cpu.json')],
                       cwd=NATIVE, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and 'valid' in r.stdout, r.stderr


def test_invalid_config_exits_2_with_the_field_path(tmp_path):
    with open(os.path.join(FIXTURES, 'configs', 'tiny-cpu.json')) as f:
        cfg = json.load(f)
    cfg['parallel']['zero'] = 'auto'
    p = tmp_path / 'config.json'
    p.write_text(json.dumps(cfg))
    r = spindle('train', str(p))
    assert r.returncode == 2
    assert 'config.json: parallel.zero: "auto" must be resolved before launch' in r.stderr


def test_usage_error():
    r = spindle('train')
    assert r.returncode == 2 and 'usage' in r.stderr.lower()
