"""Reference: our Llama / Qwen2 / Mistral equals Hugging Face transformers' (eager attention, fp32)
in logits and in the gradient of every parameter, on tiny random models whose weights are copied
over with spindle.model.hf, on fresh random tokens every run (the seed is in every message).
The perturbation tests show the same comparison fails by orders of magnitude on a wrong theta,
norm eps, RoPE scaling or a swapped gate/up mapping."""
import copy
import os
import warnings

import pytest
import torch

transformers = pytest.importorskip('transformers')

from spindle.attention.meta import AttnContext  # noqa: E402
from spindle.model import Llama  # noqa: E402
from spindle.model.hf import HfConvertError, args_from_hf_config, hf_name, load_hf_state_dict  # noqa: E402
from spindle.model.llama import RopeScaling, rope_inv_freq  # noqa: E402

TOL = 1e-5  # norm-relative, fp32
B, L = 2, 32

LLAMA3_ROPE = {'rope_type': 'llama3', 'rope_theta': 10000.0, 'factor': 8.0, 'low_freq_factor': 1.0,
               'high_freq_factor': 8.0, 'original_max_position_embeddings': 256}


def hf_config(family, **over):
    """Every field that changes the computation set explicitly (the classes' defaults differ)."""
    common = dict(vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, head_dim=16, hidden_act='silu', max_position_embeddings=4096,
                  rms_norm_eps=1e-5, tie_word_embeddings=False, attention_dropout=0.0, use_cache=False,
                  initializer_range=0.02, pad_token_id=None, bos_token_id=None, eos_token_id=None,
                  attn_implementation='eager')
    if family == 'llama':
        cls, extra = transformers.LlamaConfig, dict(architectures=['LlamaForCausalLM'], attention_bias=False,
                                                    mlp_bias=False, pretraining_tp=1, rope_parameters=dict(LLAMA3_ROPE))
    elif family == 'qwen2':
        cls, extra = transformers.Qwen2Config, dict(architectures=['Qwen2ForCausalLM'], tie_word_embeddings=True,
                                                    use_sliding_window=False, sliding_window=None, max_window_layers=2,
                                                    rope_parameters={'rope_type': 'default', 'rope_theta': 1e6},
                                                    rms_norm_eps=1e-6)
        common.pop('head_dim')  # Qwen2 derives it: hidden / heads = 16
    else:
        cls, extra = transformers.MistralConfig, dict(architectures=['MistralForCausalLM'], sliding_window=4 * L,
                                                      rope_parameters={'rope_type': 'default', 'rope_theta': 5e5})
    return cls(**{**common, **extra, **over})


def hf_model(cfg, g):
    cls = {'LlamaConfig': transformers.LlamaForCausalLM, 'Qwen2Config': transformers.Qwen2ForCausalLM,
           'MistralConfig': transformers.MistralForCausalLM}[type(cfg).__name__]
    assert cfg._attn_implementation == 'eager'
    model = cls(cfg).float().eval()  # eval: dropout off (it is 0 anyway)
    # Norm weights start at 1 and biases at 0: randomise them so a wrong mapping shows.
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith('norm.weight'):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif n.endswith('.bias'):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
    return model


def ours_from(hf, **arg_over):
    """Our model from the HF model's config and weights; arg_over changes ModelArgs fields first."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # Mistral's non-binding sliding window
        args = args_from_hf_config(hf.config.to_dict())
    for k, v in arg_over.items():
        setattr(args, k, v)
    return load_hf_state_dict(Llama(args), hf.state_dict())


def rel(a, b):
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


def run_both(hf, ours, g, offset=0):
    """Same tokens, positions and loss (logits . R) through both; returns {name: (ours, theirs)}
    for the logits and every parameter's gradient."""
    tokens = torch.randint(0, hf.config.vocab_size, (B, L), generator=g)
    positions = (torch.arange(L) + offset).expand(B, L).contiguous()
    R = torch.randn(B, L, hf.config.vocab_size, generator=g)
    ref = hf(input_ids=tokens, position_ids=positions).logits
    (ref * R).sum().backward()
    ctx = AttnContext.single(torch.arange(L).expand(B, L), torch.zeros(B, L, dtype=torch.long))
    out = ours(tokens, positions, ctx)
    (out * R).sum().backward()
    theirs = dict(hf.named_parameters())
    pairs = {'logits': (out.detach(), ref.detach())}
    for n, p in ours.named_parameters():
        pairs[f'grad {n}'] = (p.grad, theirs[hf_name(n)].grad)
    assert len(pairs) - 1 == len(theirs), 'every Hugging Face parameter has a counterpart'
    return pairs


def errors(pairs):
    return {k: rel(a, b) for k, (a, b) in pairs.items()}


def assert_close(pairs, seed, what):
    errs = errors(pairs)
    worst = max(errs, key=errs.get)
    print(f'{what} seed={seed}: max rel err {errs[worst]:.2e} ({worst}); logits {errs["logits"]:.2e}, '
          f'grads max {max(v for k, v in errs.items() if k != "logits"):.2e}')
    for k, (a, b) in pairs.items():
        assert errs[k] <= TOL, f'{what} seed={seed}: {k}: ||ours - hf|| / ||hf|| = {errs[k]:.3g} > {TOL}'
        # Elementwise, against the tensor's own scale (a single bad entry hides in a norm).
        bad = (a - b).abs().max().item()
        scale = b.abs().max().item()
        assert bad <= 10 * TOL * scale, f'{what} seed={seed}: {k}: max abs err {bad:.3g} vs scale {scale:.3g}'
    return errs


def fresh_seed():
    return int.from_bytes(os.urandom(4), 'little')


CASES = {
    'llama-gqa-llama3-rope': ('llama', {}, 1000),
    'llama-linear-rope': ('llama', {'rope_parameters': {'rope_type': 'linear', 'rope_theta': 10000.0,
                                                        'factor': 4.0}}, 500),
    'qwen2-bias-tied-gqa': ('qwen2', {}, 0),
    'mistral-gqa': ('mistral', {}, 0),
}


@pytest.mark.parametrize('case', CASES)
def test_matches_hugging_face(case):
    family, over, offset = CASES[case]
    seed = fresh_seed()
    g = torch.Generator().manual_seed(seed)
    hf = hf_model(hf_config(family, **over), g)
    ours = ours_from(hf)
    a = ours.args
    assert (a.heads, a.kv_heads) == (4, 2)
    if family == 'qwen2':
        assert a.qkv_bias and a.tie_embeddings and ours.lm_head is None
    assert_close(run_both(hf, ours, g, offset), seed, case)


def test_llama3_scaling_exercises_all_three_bands():
    s = RopeScaling('llama3', 8.0, 1.0, 8.0, 256)
    base, scaled = rope_inv_freq(16, 10000.0), rope_inv_freq(16, 10000.0, s)
    ratio = scaled / base
    assert (ratio == 1).any() and (ratio == 1 / 8).any()  # kept (short wavelengths), divided (long)
    assert ((ratio > 1 / 8) & (ratio < 1)).any()  # blended in between
    assert torch.equal(rope_inv_freq(16, 10000.0, RopeScaling('linear', 4.0)), base / 4)


PERTURB = {
    'rope theta x2': dict(arg={'rope_theta': 20000.0}),
    'norm eps x1000': dict(arg={'norm_eps': 1e-2}),
    'llama3 scaling dropped': dict(arg={'rope_scaling': None}),
    'gate/up swapped': dict(swap=True),
}


@pytest.mark.parametrize('what', PERTURB)
def test_comparison_detects_a_wrong_model(what):
    seed = fresh_seed()
    g = torch.Generator().manual_seed(seed)
    hf = hf_model(hf_config('llama'), g)
    p = PERTURB[what]
    ours = ours_from(hf, **p.get('arg', {}))
    if p.get('swap'):
        with torch.no_grad():
            for blk in ours.layers:
                w1 = blk.mlp.w1.weight.clone()
                blk.mlp.w1.weight.copy_(blk.mlp.w3.weight)
                blk.mlp.w3.weight.copy_(w1)
    errs = errors(run_both(hf, ours, g, offset=1000))
    worst = max(errs.values())
    print(f'{what} seed={seed}: logits rel err {errs["logits"]:.2e}, worst {worst:.2e}')
    assert errs['logits'] > 100 * TOL and worst > 1000 * TOL, f'{what} seed={seed}: {errs}'


# ---- the converter's contract ----

def test_config_fields_and_legacy_rope_keys():
    cfg = hf_config('llama').to_dict()
    a = args_from_hf_config(cfg)
    assert (a.layers, a.hidden, a.heads, a.kv_heads, a.head_dim, a.ffn, a.vocab) == (2, 64, 4, 2, 16, 96, 97)
    assert a.rope_scaling == RopeScaling('llama3', 8.0, 1.0, 8.0, 256) and a.rope_theta == 10000.0
    # transformers 4 config.json: rope_theta beside rope_scaling, `type` or `rope_type`.
    legacy = {k: v for k, v in cfg.items() if k != 'rope_parameters'}
    legacy.update(rope_theta=5e5, rope_scaling={'type': 'linear', 'factor': 2.0})
    b = args_from_hf_config(legacy)
    assert b.rope_theta == 5e5 and b.rope_scaling == RopeScaling('linear', 2.0)
    legacy['rope_scaling'] = None
    assert args_from_hf_config(legacy).rope_scaling is None
    with pytest.warns(UserWarning, match='sliding_window'):
        args_from_hf_config(hf_config('mistral').to_dict())


def test_config_errors_name_the_field():
    cfg = hf_config('llama').to_dict()
    with pytest.raises(HfConvertError, match=r'architectures: \[\'GPT2LMHeadModel\'\]'):
        args_from_hf_config({**cfg, 'architectures': ['GPT2LMHeadModel']})
    with pytest.raises(HfConvertError, match='architectures'):
        args_from_hf_config({k: v for k, v in cfg.items() if k != 'architectures'})
    with pytest.raises(HfConvertError, match=r"rope_parameters.rope_type: 'yarn'"):
        args_from_hf_config({**cfg, 'rope_parameters': {'rope_type': 'yarn', 'factor': 4.0}})
    with pytest.raises(HfConvertError, match='attention_bias'):
        args_from_hf_config({**cfg, 'attention_bias': True})
    with pytest.raises(HfConvertError, match='intermediate_size'):
        args_from_hf_config({k: v for k, v in cfg.items() if k != 'intermediate_size'})


def test_state_dict_errors_name_the_tensor():
    hf = hf_model(hf_config('qwen2'), torch.Generator().manual_seed(0))
    sd = hf.state_dict()
    model = Llama(args_from_hf_config(hf.config.to_dict()))
    missing = {k: v for k, v in sd.items() if k != 'model.layers.1.self_attn.k_proj.bias'}
    with pytest.raises(HfConvertError, match=r'model\.layers\.1\.self_attn\.k_proj\.bias: missing'):
        load_hf_state_dict(model, missing)
    wrong = copy.copy(sd)
    wrong['model.layers.0.mlp.up_proj.weight'] = torch.zeros(95, 64)
    with pytest.raises(HfConvertError, match=r'model\.layers\.0\.mlp\.up_proj\.weight: shape \(95, 64\)'):
        load_hf_state_dict(model, wrong)
    extra = {**sd, 'model.layers.0.self_attn.o_proj.bias': torch.zeros(64)}
    with pytest.raises(HfConvertError, match=r'o_proj\.bias: unexpected'):
        load_hf_state_dict(model, extra)
    # A tied checkpoint may or may not carry lm_head.weight; old ones carry rotary inv_freq buffers.
    load_hf_state_dict(model, {**{k: v for k, v in sd.items() if k != 'lm_head.weight'},
                               'model.layers.0.self_attn.rotary_emb.inv_freq': torch.zeros(8)})
