"""Reads the normalized run config (the JSON app/config's normalizeConfig writes) and checks it
against the same shape as app/config/schema.ts: unknown fields, missing fields, wrong types and
unresolved "auto" values fail with the field's path, e.g.
`config.json: training.bogus: unknown field`."""
import json
import os


class ConfigError(ValueError):
    pass


def _int(minimum=None, maximum=None, choices=None):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, int):
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            else:
                return None, 'expected an integer'
        if choices is not None and v not in choices:
            return None, f'expected one of {", ".join(map(str, choices))}'
        if minimum is not None and v < minimum:
            return None, f'must be >= {minimum}'
        if maximum is not None and v > maximum:
            return None, f'must be <= {maximum}'
        return v, None
    return check


def _num(minimum=None, maximum=None, positive=False):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return None, 'expected a number'
        if positive and v <= 0:
            return None, 'must be > 0'
        if minimum is not None and v < minimum:
            return None, f'must be >= {minimum}'
        if maximum is not None and v > maximum:
            return None, f'must be <= {maximum}'
        return float(v), None
    return check


def _enum(*values):
    def check(v):
        return (v, None) if v in values else (None, f'expected one of: {", ".join(values)}')
    return check


def _bool(v):
    return (v, None) if isinstance(v, bool) else (None, 'expected true or false')


def _str(v):
    return (v, None) if isinstance(v, str) and v else (None, 'expected a non-empty string')


def _str_list(v):
    ok = isinstance(v, list) and all(isinstance(x, str) and x for x in v)
    return (v, None) if ok else (None, 'expected a list of strings')


def _str_map(v):
    ok = isinstance(v, dict) and all(isinstance(x, str) for x in v.values())
    return (v, None) if ok else (None, 'expected a mapping of strings')


POS = _int(minimum=1)
OPT = object()  # marks an optional field


class Tagged:
    """An object whose `tag` field picks which of `variants` (tag value -> field spec) it must
    match, like zod's discriminatedUnion; each variant's fields are checked as a section is.
    `check(value)` may then return (field, message) for a rule across fields, or None."""
    def __init__(self, tag, variants, check=None):
        self.tag, self.variants, self.check = tag, variants, check


def _rope_scaling_ok(v):
    if v['type'] == 'llama3' and not v['high_freq_factor'] > v['low_freq_factor']:
        return 'high_freq_factor', f'must be > low_freq_factor ({v["high_freq_factor"]} vs {v["low_freq_factor"]})'
    return None


# model.architecture.rope_scaling (app/config/schema.ts RopeScaling); absent means none.
ROPE_SCALING = Tagged('type', {
    'none': {},
    'linear': {'factor': _num(positive=True)},
    'llama3': {'factor': _num(positive=True), 'low_freq_factor': _num(positive=True),
               'high_freq_factor': _num(positive=True), 'original_max_position': POS},
}, check=_rope_scaling_ok)

SCHEMA = {
    'version': _int(choices=[1]),
    'name': _str,
    'model': {
        'preset': (_str, OPT),
        'architecture': {
            'family': _enum('llama', 'qwen2', 'mistral'), 'layers': POS, 'hidden': POS, 'heads': POS,
            'kv_heads': POS, 'head_dim': POS, 'ffn': POS, 'vocab': POS, 'rope_theta': _num(positive=True),
            'tie_embeddings': _bool, 'qkv_bias': _bool, 'norm_eps': _num(positive=True),
            'rope_scaling': (ROPE_SCALING, OPT),
        },
        'init': _enum('random'),
    },
    'data': {'source': _enum('sample', 'text', 'jsonl'), 'path': (_str, OPT), 'tokenizer': _str, 'pack': _bool},
    'training': {
        'task': _enum('pretrain', 'sft'), 'seq_len': POS, 'micro_batch': POS, 'grad_accum': POS, 'steps': POS,
        'lr': _num(positive=True), 'warmup_steps': _int(minimum=0), 'schedule': _enum('cosine', 'linear', 'constant'),
        'min_lr_ratio': _num(0, 1), 'weight_decay': _num(0), 'beta1': _num(0, 1), 'beta2': _num(0, 1),
        'grad_clip': _num(0), 'seed': _int(minimum=0), 'precision': _enum('fp32', 'bf16'),
        'checkpoint_every': _int(minimum=0), 'log_every': POS,
        'loss': (_enum('materialized', 'chunked'), OPT), 'loss_chunk_tokens': (POS, OPT),
    },
    'parallel': {
        'ulysses': POS, 'ring': POS, 'ring_variant': _enum('zigzag', 'contiguous'), 'zero': _int(choices=[0, 1, 2, 3]),
        'checkpointing': _enum('none', 'full', 'selective'),
        'offload': {'optimizer': _bool, 'params': _bool, 'activations': _bool},
        'chunks': POS,
    },
    'cluster': {'gpu': _str, 'nodes': POS, 'gpus_per_node': POS},
    # The launcher's section: the runtime does not use it. Its fields are optional because
    # normalization leaves an omitted `launch` as {} (zod 4 does not fill nested defaults there).
    'launch': {'target': (_enum('local', 'ssh'), OPT), 'hosts': (_str_list, OPT), 'python': (_str, OPT),
               'workdir': (_str, OPT), 'env': (_str_map, OPT)},
}


def _validate(value, spec, path, errors):
    if isinstance(spec, Tagged):
        if not isinstance(value, dict):
            errors.append(f'{path}: expected an object')
            return None
        tag = value.get(spec.tag)
        if not isinstance(tag, str) or tag not in spec.variants:
            errors.append(f'{path}.{spec.tag}: expected one of: {", ".join(spec.variants)} (got {json.dumps(tag)})')
            return None
        n = len(errors)
        out = _validate(value, {spec.tag: _enum(tag), **spec.variants[tag]}, path, errors)
        if len(errors) == n and spec.check:
            bad = spec.check(out)
            if bad:
                errors.append(f'{path}.{bad[0]}: {bad[1]}')
        return out
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            errors.append(f'{path or "(root)"}: expected an object')
            return None
        out = {}
        for key in value:
            if key not in spec:
                errors.append(f'{path + "." if path else ""}{key}: unknown field')
        for key, sub in spec.items():
            p = f'{path}.{key}' if path else key
            optional = isinstance(sub, tuple) and sub[1] is OPT
            check = sub[0] if optional else sub
            if key not in value or value[key] is None:
                if not optional:
                    errors.append(f'{p}: required')
                continue
            out[key] = _validate(value[key], check, p, errors)
        return out
    if value == 'auto':
        errors.append(f'{path}: "auto" must be resolved before launch (the studio\'s planner picks a value; '
                      'set one explicitly to run the config by hand)')
        return None
    v, err = spec(value)
    if err:
        errors.append(f'{path}: {err} (got {json.dumps(value)})')
    return v


# Optional fields a normalized config from an older studio may lack, with app/config's defaults.
DEFAULTS = {('training', 'loss'): 'chunked', ('training', 'loss_chunk_tokens'): 4096}


def validate(raw, source='config.json'):
    errors = []
    cfg = _validate(raw, SCHEMA, '', errors)
    if not errors:
        for (section, key), value in DEFAULTS.items():
            cfg[section].setdefault(key, value)
        errors += [f'{p}: {m}' for p, m in _cross_checks(cfg)]
    if errors:
        raise ConfigError('\n'.join(f'{source}: {e}' for e in errors))
    return cfg


def _cross_checks(c):
    a, t, p = c['model']['architecture'], c['training'], c['parallel']
    if a['heads'] % a['kv_heads']:
        yield 'model.architecture.kv_heads', f'{a["kv_heads"]} must divide heads {a["heads"]}'
    if a['head_dim'] % 2:
        yield 'model.architecture.head_dim', 'must be even (RoPE rotates pairs)'
    if c['data']['source'] in ('text', 'jsonl') and not c['data'].get('path'):
        yield 'data.path', f'data.source {c["data"]["source"]} needs data.path'
    world = c['cluster']['nodes'] * c['cluster']['gpus_per_node']
    if world % (p['ulysses'] * p['ring']):
        yield 'parallel', f'ulysses x ring = {p["ulysses"] * p["ring"]} must divide the world size {world} (cluster.nodes x cluster.gpus_per_node)'
    if t['task'] == 'sft' and c['data']['source'] == 'sample':
        yield 'training.task', 'sft needs data.source jsonl (prompt/response or messages records)'


def load(path):
    try:
        with open(path, encoding='utf-8') as f:
            raw = json.load(f)
    except FileNotFoundError:
        raise ConfigError(f'{path}: file not found') from None
    except json.JSONDecodeError as e:
        raise ConfigError(f'{os.path.basename(path)}: not valid JSON: {e}') from None
    return validate(raw, os.path.basename(path))
