"""AdamW with ZeRO stages 0-2 over the whole world (dp x sp), on flat buffers.

Every parameter of the model becomes a view into one flat buffer (`flat`, in the compute
dtype), padded to a multiple of the world size so rank r owns the r-th equal shard.
 stage 0: gradients all-reduced; every rank updates the whole buffer.
 stage 1: gradients all-reduced; rank r updates its shard (optimizer states only for the
          shard), then the shards are all-gathered.
 stage 2: after every micro-step the gradients are reduce-scattered into an fp32 shard
          accumulator and the full gradients are dropped; update and all-gather as stage 1.
 stage 3 (parameters sharded during forward/backward) is not implemented: it needs gathering
          hooks around every block, and this runtime refuses it with a clear error instead.
fp32: the master weights are the flat buffer itself. bf16: the model holds a bf16 buffer and
the optimizer an fp32 master copy (whole or shard). Gradients are summed, not averaged: the loss
is already divided by the global token count, so the sum is the gradient of the global mean.
"""
import math

import torch
import torch.distributed as dist

from .. import compat
from ..comm import wire_dtype


class ZeroAdamW:
    def __init__(self, model, stage, train_cfg, group=None, world=1, rank=0):
        if stage == 3:
            raise ValueError('parallel.zero 3 is not implemented by this runtime (parameters are not sharded '
                             'during forward/backward); use zero 0, 1 or 2')
        if stage not in (0, 1, 2):
            raise ValueError(f'parallel.zero {stage!r}: expected 0, 1 or 2')
        self.stage, self.cfg = stage, train_cfg
        self.group, self.world, self.rank = group, world, rank
        self.params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        dtype, device = self.params[0][1].dtype, self.params[0][1].device
        n = sum(p.numel() for _, p in self.params)
        self.numel = n
        self.padded = math.ceil(n / world) * world
        self.shard = self.padded // world
        self.flat = torch.zeros(self.padded, dtype=dtype, device=device)
        self.segments = []  # (name, start, end, decays)
        off = 0
        with torch.no_grad():
            for name, p in self.params:
                k = p.numel()
                self.flat[off:off + k].copy_(p.reshape(-1))
                p.data = self.flat[off:off + k].view_as(p)
                # Decay matrices (linear weights, embeddings); never norms or biases.
                self.segments.append((name, off, off + k, p.dim() >= 2))
                off += k
        self.lo, self.hi = (0, self.padded) if stage == 0 else (rank * self.shard, (rank + 1) * self.shard)
        own = self.flat[self.lo:self.hi]
        self.master = own if dtype == torch.float32 else own.float()
        self.exp_avg = torch.zeros_like(self.master)
        self.exp_avg_sq = torch.zeros_like(self.master)
        self.grad_acc = torch.zeros(self.shard, dtype=torch.float32, device=device) if stage == 2 else None
        self.step_count = 0
        self.last_grad_bytes = 0
        self.comm_bytes = 0

    def _flat_grads(self):
        g = torch.zeros(self.padded, dtype=torch.float32, device=self.flat.device)
        held = 0
        for (_, p), (_, a, b, _) in zip(self.params, self.segments):
            if p.grad is not None:
                held += p.grad.numel() * p.grad.element_size()
                g[a:b].copy_(p.grad.reshape(-1))
                p.grad = None
        self.last_grad_bytes = max(self.last_grad_bytes, held)
        self.comm_bytes = g.numel() * g.element_size()
        return g

    def after_micro_step(self):
        """Stage 2 drops full gradients after each micro-step; others accumulate in p.grad."""
        if self.stage == 2:
            g = self._flat_grads()
            if self.world > 1:
                shard = torch.empty(self.shard, dtype=torch.float32, device=g.device)
                compat.reduce_scatter_sum(shard, g, self.group)
            else:
                shard = g
            self.grad_acc += shard

    def _reduced_grad(self):
        if self.stage == 2:
            g = self.grad_acc.clone()
            self.grad_acc.zero_()
            return g
        g = self._flat_grads()
        if self.world > 1:
            dist.all_reduce(g, group=self.group)
        return g[self.lo:self.hi]

    def grad_norm(self, g):
        sq = g.double().pow(2).sum()
        if self.stage > 0 and self.world > 1:
            dist.all_reduce(sq, group=self.group)  # each rank holds a disjoint shard
        return math.sqrt(sq.item())

    @torch.no_grad()
    def step(self, lr):
        """Reduce gradients, clip by the global norm, AdamW update, re-assemble the weights.
        Returns the pre-clip global gradient norm."""
        t = self.cfg
        g = self._reduced_grad()
        norm = self.grad_norm(g)
        if t['grad_clip'] > 0 and norm > t['grad_clip']:
            g.mul_(t['grad_clip'] / (norm + 1e-6))
        self.step_count += 1
        b1, b2, eps = t['beta1'], t['beta2'], 1e-8
        if t['weight_decay'] > 0:
            for _, a, b, decays in self.segments:
                a, b = max(a, self.lo), min(b, self.hi)
                if decays and a < b:
                    self.master[a - self.lo:b - self.lo].mul_(1 - lr * t['weight_decay'])
        self.exp_avg.mul_(b1).add_(g, alpha=1 - b1)
        self.exp_avg_sq.mul_(b2).addcmul_(g, g, value=1 - b2)
        bc1, bc2 = 1 - b1 ** self.step_count, 1 - b2 ** self.step_count
        denom = (self.exp_avg_sq / bc2).sqrt_().add_(eps)
        self.master.addcdiv_(self.exp_avg, denom, value=-lr / bc1)
        self._publish()
        return norm

    def _publish(self):
        own = self.flat[self.lo:self.hi]
        if self.master.data_ptr() != own.data_ptr():
            own.copy_(self.master)
        if self.stage == 0 or self.world == 1:
            return
        wd = wire_dtype(self.flat.dtype, self.group)
        if wd == self.flat.dtype:
            compat.all_gather_into(self.flat, own, self.group)
        else:  # gloo and bf16: gather the fp32 shards, then round once
            full = torch.empty(self.padded, dtype=wd, device=self.flat.device)
            compat.all_gather_into(full, self.master.to(wd), self.group)
            self.flat.copy_(full)

    # ---- accounting and checkpoints ----
    def memory_terms(self):
        weights = self.flat.numel() * self.flat.element_size()
        opt = (self.exp_avg.numel() + self.exp_avg_sq.numel()) * 4
        if self.master.data_ptr() != self.flat[self.lo:self.hi].data_ptr():
            opt += self.master.numel() * 4
        grads = self.last_grad_bytes + (self.grad_acc.numel() * 4 if self.grad_acc is not None else 0)
        return {'weights': weights, 'grads': grads, 'optimizer': opt, 'comm_buffers': self.comm_bytes}

    def state_dict(self):
        return {'stage': self.stage, 'world': self.world, 'rank': self.rank, 'numel': self.numel,
                'step_count': self.step_count, 'master': self.master.clone(), 'exp_avg': self.exp_avg.clone(),
                'exp_avg_sq': self.exp_avg_sq.clone()}

    def load_state_dict(self, sd):
        for k in ('stage', 'world', 'numel'):
            if sd[k] != getattr(self, k):
                raise ValueError(f'checkpoint was written with {k}={sd[k]}, this run has {k}={getattr(self, k)}; '
                                 'resume with the same layout or pass --no-resume')
        self.step_count = sd['step_count']
        self.master.copy_(sd['master'])
        self.exp_avg.copy_(sd['exp_avg'])
        self.exp_avg_sq.copy_(sd['exp_avg_sq'])
        self._publish()
