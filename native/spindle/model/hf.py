"""Hugging Face checkpoints -> Spindle's Llama: a config.json dict to ModelArgs, and a state dict
with Hugging Face tensor names copied into a Llama. Covers LlamaForCausalLM, Qwen2ForCausalLM and
MistralForCausalLM; anything the model can't represent is refused with the field or tensor named."""
import re
import warnings

import torch

from .llama import ModelArgs, RopeScaling

FAMILIES = {'LlamaForCausalLM': 'llama', 'Qwen2ForCausalLM': 'qwen2', 'MistralForCausalLM': 'mistral'}


class HfConvertError(ValueError):
    pass


def _rope(cfg):
    """(theta, RopeScaling or None) from `rope_parameters` (transformers 5) or `rope_theta` +
    `rope_scaling` (older config.json files)."""
    params = cfg.get('rope_parameters') or cfg.get('rope_scaling') or {}
    field = 'rope_parameters' if cfg.get('rope_parameters') else 'rope_scaling'
    theta = params.get('rope_theta', cfg.get('rope_theta', 10000.0))
    kind = params.get('rope_type', params.get('type', 'default'))
    if kind in ('default', 'none', None):
        return float(theta), None
    if kind not in ('linear', 'llama3'):
        raise HfConvertError(f'{field}.rope_type: {kind!r} is not supported (supported: default, linear, llama3)')
    if 'factor' not in params:
        raise HfConvertError(f'{field}.factor: required for rope_type {kind}')
    if kind == 'linear':
        return float(theta), RopeScaling('linear', float(params['factor']))
    for k in ('low_freq_factor', 'high_freq_factor'):
        if k not in params:
            raise HfConvertError(f'{field}.{k}: required for rope_type llama3')
    orig = params.get('original_max_position_embeddings', cfg.get('max_position_embeddings'))
    if orig is None:
        raise HfConvertError(f'{field}.original_max_position_embeddings: required for rope_type llama3')
    try:
        scaling = RopeScaling('llama3', float(params['factor']), float(params['low_freq_factor']),
                              float(params['high_freq_factor']), int(orig))
    except ValueError as e:
        raise HfConvertError(f'{field}: {e}') from None
    return float(theta), scaling


def args_from_hf_config(cfg: dict) -> ModelArgs:
    """ModelArgs for a Hugging Face config.json (as a dict). Every field that changes the
    computation is read or refused; Hugging Face's own defaults fill fields a file leaves out."""
    archs = cfg.get('architectures') or []
    family = next((FAMILIES[a] for a in archs if a in FAMILIES), None)
    if family is None:
        raise HfConvertError(f'architectures: {archs!r} is not supported (supported: {", ".join(FAMILIES)})')
    act = cfg.get('hidden_act', 'silu')
    if act != 'silu':
        raise HfConvertError(f'hidden_act: {act!r} is not supported (the SwiGLU MLP uses silu)')
    if cfg.get('mlp_bias'):
        raise HfConvertError('mlp_bias: biases on the MLP projections are not supported')
    if family == 'llama' and cfg.get('attention_bias'):
        raise HfConvertError('attention_bias: Llama-style biases on q, k, v and o are not supported')
    if cfg.get('pretraining_tp', 1) not in (1, None):
        raise HfConvertError('pretraining_tp: only 1 is supported')
    sliding = cfg.get('use_sliding_window', False) if family == 'qwen2' else cfg.get('sliding_window') is not None
    if sliding:
        warnings.warn(f'sliding_window {cfg.get("sliding_window")}: not modelled; attention is full causal, '
                      'exact only for documents no longer than the window')
    def need(key):
        v = cfg.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise HfConvertError(f'{key}: expected a positive integer, got {v!r}')
        return v

    heads, hidden = need('num_attention_heads'), need('hidden_size')
    if cfg.get('head_dim') is None and hidden % heads:
        raise HfConvertError(f'hidden_size {hidden} is not divisible by num_attention_heads {heads} and head_dim is not given')
    theta, scaling = _rope(cfg)
    return ModelArgs(
        layers=need('num_hidden_layers'), hidden=hidden, heads=heads,
        kv_heads=need('num_key_value_heads') if cfg.get('num_key_value_heads') is not None else heads,
        head_dim=need('head_dim') if cfg.get('head_dim') is not None else hidden // heads,
        ffn=need('intermediate_size'), vocab=need('vocab_size'), rope_theta=theta,
        tie_embeddings=bool(cfg.get('tie_word_embeddings', False)),
        qkv_bias=family == 'qwen2',  # Qwen2 always has q/k/v biases; Llama (checked) and Mistral never
        norm_eps=float(cfg.get('rms_norm_eps', 1e-6)), rope_scaling=scaling)


_LAYER = {
    'self_attn.q_proj': 'attn.wq', 'self_attn.k_proj': 'attn.wk', 'self_attn.v_proj': 'attn.wv',
    'self_attn.o_proj': 'attn.wo', 'mlp.gate_proj': 'mlp.w1', 'mlp.up_proj': 'mlp.w3', 'mlp.down_proj': 'mlp.w2',
    'input_layernorm': 'attn_norm', 'post_attention_layernorm': 'mlp_norm',
}
_OURS = {v: k for k, v in _LAYER.items()}
# Buffers some checkpoints carry that hold nothing the model learns.
_IGNORED = re.compile(r'.*rotary_emb\.inv_freq$')


def hf_name(name: str) -> str:
    """Hugging Face tensor name of one of our parameter names."""
    if name == 'embed.weight':
        return 'model.embed_tokens.weight'
    if name == 'norm.weight':
        return 'model.norm.weight'
    if name == 'lm_head.weight':
        return 'lm_head.weight'
    m = re.fullmatch(r'layers\.(\d+)\.(.+)\.(weight|bias)', name)
    if m and m.group(2) in _OURS:
        return f'model.layers.{m.group(1)}.{_OURS[m.group(2)]}.{m.group(3)}'
    raise KeyError(name)


def load_hf_state_dict(model, hf_state_dict):
    """Copy a Hugging Face state dict (LlamaForCausalLM / Qwen2ForCausalLM / MistralForCausalLM
    names) into `model`, converting to each parameter's dtype. Every parameter must be there with
    its shape and every tensor must be used (a tied model may also carry lm_head.weight)."""
    params = dict(model.named_parameters())
    wanted = {hf_name(n): n for n in params}
    tied = model.lm_head is None
    for key, t in hf_state_dict.items():
        if key in wanted or _IGNORED.fullmatch(key) or (tied and key == 'lm_head.weight'):
            continue
        raise HfConvertError(f'{key}: unexpected tensor (no parameter of this model maps to it)')
    with torch.no_grad():
        for key, name in wanted.items():
            if key not in hf_state_dict:
                raise HfConvertError(f'{key}: missing from the state dict (needed for {name})')
            src, dst = hf_state_dict[key], params[name]
            if tuple(src.shape) != tuple(dst.shape):
                raise HfConvertError(f'{key}: shape {tuple(src.shape)}, the model expects {tuple(dst.shape)} ({name})')
            dst.copy_(src.to(device=dst.device, dtype=dst.dtype))
    return model
