"""The runtime reads the normalized configs the studio writes (shared fixtures) and rejects
anything else with the field's path."""
import copy
import glob
import json
import os

import pytest

from dist_util import FIXTURES
from spindle.config import ConfigError, load, validate

CONFIGS = sorted(glob.glob(os.path.join(FIXTURES, 'configs', '*.json')))


def fixture(name):
    with open(os.path.join(FIXTURES, 'configs', name)) as f:
        return json.load(f)


def test_fixtures_exist_for_the_shared_examples():
    names = {os.path.basename(p) for p in CONFIGS}
    assert {'tiny-cpu.json', 'two-nodes.json', 'tiny-single.json', 'tiny-sft.json', 'tiny-bf16.json', 'tiny-qwen2.json'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=os.path.basename)
def test_every_fixture_loads(path):
    cfg = load(path)
    assert cfg['model']['architecture']['head_dim'] > 0


def _err(raw):
    with pytest.raises(ConfigError) as e:
        validate(raw, 'config.json')
    return str(e.value)


def test_unknown_field_names_its_path():
    raw = fixture('tiny-cpu.json')
    raw['training']['bogus'] = 1
    assert 'config.json: training.bogus: unknown field' in _err(raw)
    raw = fixture('tiny-cpu.json')
    raw['parallel']['offload']['disk'] = True
    assert 'config.json: parallel.offload.disk: unknown field' in _err(raw)


def test_missing_field_names_its_path():
    raw = fixture('tiny-cpu.json')
    del raw['training']['seq_len']
    assert 'config.json: training.seq_len: required' in _err(raw)
    raw = fixture('tiny-cpu.json')
    del raw['model']['architecture']['head_dim']  # normalization always fills it
    assert 'model.architecture.head_dim: required' in _err(raw)


def test_auto_is_rejected_with_a_clear_message():
    raw = fixture('tiny-cpu.json')
    raw['parallel']['ulysses'] = 'auto'
    raw['parallel']['offload']['optimizer'] = 'auto'
    msg = _err(raw)
    assert 'parallel.ulysses: "auto" must be resolved before launch' in msg
    assert 'parallel.offload.optimizer: "auto"' in msg


def test_wrong_types_and_cross_checks():
    raw = fixture('tiny-cpu.json')
    raw['training']['precision'] = 'fp8'
    raw['training']['steps'] = 0
    msg = _err(raw)
    assert 'training.precision: expected one of: fp32, bf16' in msg and 'training.steps: must be >= 1' in msg
    raw = fixture('tiny-cpu.json')
    raw['parallel']['ring'] = 3
    assert 'must divide the world size 4' in _err(raw)
    raw = copy.deepcopy(fixture('tiny-sft.json'))
    del raw['data']['path']
    assert 'data.path: data.source jsonl needs data.path' in _err(raw)


def test_unreadable_file(tmp_path):
    p = tmp_path / 'c.json'
    p.write_text('{not json')
    with pytest.raises(ConfigError, match='not valid JSON'):
        load(str(p))


def test_rope_scaling_is_optional_and_checked_per_type():
    from spindle.model.llama import ModelArgs, RopeScaling
    raw = fixture('tiny-cpu.json')
    assert raw['model']['architecture']['rope_scaling'] == {'type': 'none'}
    assert ModelArgs.from_config(validate(raw)['model']['architecture']).rope_scaling is None
    del raw['model']['architecture']['rope_scaling']  # a config from an older studio
    assert ModelArgs.from_config(validate(raw)['model']['architecture']).rope_scaling is None
    l3 = {'type': 'llama3', 'factor': 8, 'low_freq_factor': 1, 'high_freq_factor': 4, 'original_max_position': 8192}
    raw['model']['architecture']['rope_scaling'] = l3
    args = ModelArgs.from_config(validate(raw)['model']['architecture'])
    assert args.rope_scaling == RopeScaling('llama3', 8.0, 1.0, 4.0, 8192)
    raw['model']['architecture']['rope_scaling'] = {'type': 'linear', 'factor': 2}
    assert ModelArgs.from_config(validate(raw)['model']['architecture']).rope_scaling == RopeScaling('linear', 2.0)

    def bad(rope):
        r = fixture('tiny-cpu.json')
        r['model']['architecture']['rope_scaling'] = rope
        return _err(r)
    p = 'model.architecture.rope_scaling'
    assert f'{p}.factor: required' in bad({'type': 'linear'})
    assert f'{p}.factor: unknown field' in bad({'type': 'none', 'factor': 2})
    assert f'{p}.type: expected one of: none, linear, llama3' in bad({'type': 'yarn'})
    assert f'{p}.original_max_position: required' in bad({k: v for k, v in l3.items() if k != 'original_max_position'})
    assert f'{p}.high_freq_factor: must be > low_freq_factor' in bad({**l3, 'low_freq_factor': 4, 'high_freq_factor': 1})
    assert f'{p}: expected an object' in bad('linear')
