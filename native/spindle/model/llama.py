"""Llama / Mistral / Qwen2 decoder: RMSNorm, RoPE (theta, optional linear or Llama 3 frequency
scaling), GQA, SwiGLU, optional qkv bias, tied or untied embeddings. Inputs are token ids, RoPE positions and an opaque attention
context; each block's `attn.attention_op` decides how attention is computed."""
import math
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..attention.sp import LocalAttention


@dataclass(frozen=True)
class RopeScaling:
    """How RoPE frequencies are rescaled for a longer context (`model.architecture.rope_scaling`).

    linear: every frequency divided by `factor` (position interpolation).
    llama3: frequencies whose wavelength is shorter than original_max_position / high_freq_factor
        are kept, those longer than original_max_position / low_freq_factor are divided by
        `factor`, and those between blend the two linearly in original_max_position / wavelength.
    """
    type: str  # 'linear' | 'llama3' ('none' is represented as no RopeScaling at all)
    factor: float
    low_freq_factor: Optional[float] = None
    high_freq_factor: Optional[float] = None
    original_max_position: Optional[int] = None

    def __post_init__(self):
        if self.type not in ('linear', 'llama3'):
            raise ValueError(f'rope_scaling.type: expected linear or llama3, got {self.type!r}')
        if not self.factor > 0:
            raise ValueError(f'rope_scaling.factor: must be > 0, got {self.factor}')
        if self.type == 'llama3':
            for k in ('low_freq_factor', 'high_freq_factor', 'original_max_position'):
                if getattr(self, k) is None:
                    raise ValueError(f'rope_scaling.{k}: required for type llama3')
            if not self.high_freq_factor > self.low_freq_factor:
                raise ValueError(f'rope_scaling.high_freq_factor: must be > low_freq_factor '
                                 f'({self.high_freq_factor} vs {self.low_freq_factor})')

    @staticmethod
    def from_config(d):
        """The run config's rope_scaling object (or None / {type: none}) -> RopeScaling or None."""
        if d is None or d.get('type', 'none') == 'none':
            return None
        return RopeScaling(type=d['type'], factor=float(d['factor']),
                           low_freq_factor=None if d.get('low_freq_factor') is None else float(d['low_freq_factor']),
                           high_freq_factor=None if d.get('high_freq_factor') is None else float(d['high_freq_factor']),
                           original_max_position=d.get('original_max_position'))


@dataclass
class ModelArgs:
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    vocab: int
    rope_theta: float = 10000.0
    tie_embeddings: bool = False
    qkv_bias: bool = False
    norm_eps: float = 1e-5
    rope_scaling: Optional[RopeScaling] = None  # None: plain RoPE

    @staticmethod
    def from_config(arch):
        return ModelArgs(layers=arch['layers'], hidden=arch['hidden'], heads=arch['heads'], kv_heads=arch['kv_heads'],
                         head_dim=arch['head_dim'], ffn=arch['ffn'], vocab=arch['vocab'], rope_theta=float(arch['rope_theta']),
                         tie_embeddings=arch['tie_embeddings'], qkv_bias=arch['qkv_bias'], norm_eps=float(arch['norm_eps']),
                         rope_scaling=RopeScaling.from_config(arch.get('rope_scaling')))


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # Normalise in fp32 whatever the compute dtype (bf16 variance loses too much).
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (xf * self.weight.float()).to(x.dtype)


def rope_inv_freq(head_dim, theta, scaling=None, device=None):
    """The head_dim / 2 rotation frequencies (radians per position) in fp32: theta^(-2i / head_dim),
    then rescaled as `scaling` (a RopeScaling, or None) says."""
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim))
    if scaling is None:
        return inv
    if scaling.type == 'linear':
        return inv / scaling.factor
    # llama3: by wavelength 2*pi / freq measured against the original context length.
    ctx, lo, hi = scaling.original_max_position, scaling.low_freq_factor, scaling.high_freq_factor
    wavelen = 2 * math.pi / inv
    ratio = ctx / wavelen  # periods that fit in the original context
    smooth = ((ratio - lo) / (hi - lo)).clamp(0.0, 1.0)  # 0: long wavelength (scaled), 1: short (kept)
    return (1 - smooth) * (inv / scaling.factor) + smooth * inv


def rope_tables(positions, head_dim, theta, scaling=None):
    """cos, sin [B, L, 1, head_dim] in fp32 for integer positions [B, L]."""
    inv = rope_inv_freq(head_dim, theta, scaling, positions.device)
    ang = positions.float()[..., None] * inv  # [B, L, D/2]
    ang = torch.cat([ang, ang], dim=-1)[:, :, None, :]
    return ang.cos(), ang.sin()


def apply_rope(x, cos, sin):
    """Rotate-half RoPE (the Llama / Hugging Face convention), computed in fp32."""
    xf = x.float()
    h = xf.shape[-1] // 2
    rot = torch.cat([-xf[..., h:], xf[..., :h]], dim=-1)
    return (xf * cos + rot * sin).to(x.dtype)


class Attention(nn.Module):
    def __init__(self, a: ModelArgs):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = a.heads, a.kv_heads, a.head_dim
        self.wq = nn.Linear(a.hidden, a.heads * a.head_dim, bias=a.qkv_bias)
        self.wk = nn.Linear(a.hidden, a.kv_heads * a.head_dim, bias=a.qkv_bias)
        self.wv = nn.Linear(a.hidden, a.kv_heads * a.head_dim, bias=a.qkv_bias)
        self.wo = nn.Linear(a.heads * a.head_dim, a.hidden, bias=False)
        self.attention_op = LocalAttention()

    def forward(self, x, cos, sin, attn_ctx):
        B, L, _ = x.shape
        q = self.wq(x).view(B, L, self.heads, self.head_dim)
        k = self.wk(x).view(B, L, self.kv_heads, self.head_dim)
        v = self.wv(x).view(B, L, self.kv_heads, self.head_dim)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        o = self.attention_op(q, k, v, attn_ctx)
        return self.wo(o.reshape(B, L, self.heads * self.head_dim))


class MLP(nn.Module):
    def __init__(self, a: ModelArgs):
        super().__init__()
        self.w1 = nn.Linear(a.hidden, a.ffn, bias=False)  # gate
        self.w3 = nn.Linear(a.hidden, a.ffn, bias=False)  # up
        self.w2 = nn.Linear(a.ffn, a.hidden, bias=False)  # down

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, a: ModelArgs):
        super().__init__()
        self.attn_norm = RMSNorm(a.hidden, a.norm_eps)
        self.attn = Attention(a)
        self.mlp_norm = RMSNorm(a.hidden, a.norm_eps)
        self.mlp = MLP(a)

    def forward(self, x, cos, sin, attn_ctx):
        x = x + self.attn(self.attn_norm(x), cos, sin, attn_ctx)
        return x + self.mlp(self.mlp_norm(x))


class Llama(nn.Module):
    def __init__(self, a: ModelArgs):
        super().__init__()
        self.args = a
        self.embed = nn.Embedding(a.vocab, a.hidden)
        self.layers = nn.ModuleList(Block(a) for _ in range(a.layers))
        self.norm = RMSNorm(a.hidden, a.norm_eps)
        self.lm_head = None if a.tie_embeddings else nn.Linear(a.hidden, a.vocab, bias=False)
        self.reset_parameters()

    def reset_parameters(self):
        # GPT-2 / Llama style: N(0, 0.02), residual outputs scaled by 1/sqrt(2 * layers).
        out_std = 0.02 / (2 * self.args.layers) ** 0.5
        for name, p in self.named_parameters():
            if name.endswith('norm.weight'):
                nn.init.ones_(p)
            elif name.endswith('.bias'):
                nn.init.zeros_(p)
            elif name.endswith('wo.weight') or name.endswith('w2.weight'):
                nn.init.normal_(p, std=out_std)
            else:
                nn.init.normal_(p, std=0.02)

    def trunk(self, tokens, positions, attn_ctx):
        """tokens, positions: [B, L] (this rank's tokens). Returns the residual stream after the
        last block, [B, L, hidden] (before the final norm)."""
        x = self.embed(tokens)
        cos, sin = rope_tables(positions, self.args.head_dim, self.args.rope_theta, self.args.rope_scaling)
        for block in self.layers:
            x = block(x, cos, sin, attn_ctx)
        return x

    def head_weight(self):
        return self.embed.weight if self.lm_head is None else self.lm_head.weight

    def head_loss(self, x, labels, weights, loss_fn):
        """Final norm, then `loss_fn(h, head_weight, labels, weights)`: the LM head and whatever
        is computed from it (logits, or a loss that never holds all logits at once). One method,
        so a caller can treat "norm + head + loss" as a unit (ZeRO-3 gathers its weights)."""
        return loss_fn(self.norm(x), self.head_weight(), labels, weights)

    def forward(self, tokens, positions, attn_ctx):
        """tokens, positions: [B, L] (this rank's tokens). Returns logits [B, L, vocab]."""
        return self.head_loss(self.trunk(tokens, positions, attn_ctx), None, None, logits_fn)


def logits_fn(h, w, _labels=None, _weights=None):
    return F.linear(h, w)
