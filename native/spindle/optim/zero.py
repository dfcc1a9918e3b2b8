"""AdamW with ZeRO stages 0-3 over the whole world (dp x sp), on flat buffers.

Stages 0-2: every parameter of the model becomes a view into one flat buffer (`flat`, in the
compute dtype), padded to a multiple of the world size so rank r owns the r-th equal shard.
 stage 0: gradients all-reduced; every rank updates the whole buffer.
 stage 1: gradients all-reduced; rank r updates its shard (optimizer states only for the
          shard), then the shards are all-gathered.
 stage 2: after every micro-step the gradients are reduce-scattered into an fp32 shard
          accumulator and the full gradients are dropped; update and all-gather as stage 1.
 stage 3: parameters themselves are sharded, per unit (embedding, each block, head; see
          optim/zero3.py): rank r holds the r-th shard of every unit, gathered around the unit's
          forward and backward; gradients are reduce-scattered inside backward, unit by unit,
          into the fp32 shard accumulator. The update runs on the shards; nothing is gathered
          after it (the next forward gathers).
The owned part of every stage is one contiguous fp32 vector (`master`, with `exp_avg` and
`exp_avg_sq` alike): the flat buffer's [lo, hi) for stages 0-2, the concatenation of this rank's
unit shards for stage 3, so the AdamW arithmetic is the same code for all.
fp32: the master weights are the compute weights themselves. bf16: the model holds bf16 weights
and the optimizer an fp32 master copy. Gradients are summed, not averaged: the loss is already
divided by the global token count, so the sum is the gradient of the global mean.

Optimizer offload (`offload=True`; the trainer asks for it on GPU with parallel.offload.optimizer):
master and moments live in (pinned) host memory and the update runs on the CPU; the device keeps
the compute weights and the gradient shard, which crosses PCIe once per step each way.
"""
import contextlib
import math

import torch
import torch.distributed as dist

from .. import comm
from ..comm import wire_dtype
from . import zero3


def _pinned(t):
    """Page-locked host copy when CUDA is there (fast, async-capable copies); plain otherwise."""
    t = t.cpu()
    return t.pin_memory() if torch.cuda.is_available() else t


class ZeroAdamW:
    def __init__(self, model, stage, train_cfg, group=None, world=1, rank=0, offload=False):
        if stage not in (0, 1, 2, 3):
            raise ValueError(f'parallel.zero {stage!r}: expected 0, 1, 2 or 3')
        self.stage, self.cfg = stage, train_cfg
        self.group, self.world, self.rank = group, world, rank
        self.offload = offload
        self.model = model
        self.params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.param_shapes = {n: tuple(p.shape) for n, p in self.params}
        self.dtype, self.device = self.params[0][1].dtype, self.params[0][1].device
        self.numel = sum(p.numel() for _, p in self.params)
        self.step_count = 0
        self.last_grad_bytes = 0
        self.comm_bytes = 0
        if stage == 3:
            self._init_sharded(model)
        else:
            self._init_flat()
        host = torch.device('cpu')
        if offload:
            self.master = _pinned(self.master.float())
            self._g_host = _pinned(torch.zeros(self.master.numel()))
        self.exp_avg = torch.zeros_like(self.master)
        self.exp_avg_sq = torch.zeros_like(self.master)
        self.state_device = host if offload else self.device

    # ---- layouts ----
    def _init_flat(self):
        n, world = self.numel, self.world
        self.padded = math.ceil(n / world) * world
        self.shard = self.padded // world
        self.flat = torch.zeros(self.padded, dtype=self.dtype, device=self.device)
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
        self.lo, self.hi = (0, self.padded) if self.stage == 0 else (self.rank * self.shard, (self.rank + 1) * self.shard)
        own = self.flat[self.lo:self.hi]
        self.master = own if self.dtype == torch.float32 else own.float()
        self.decay_ranges = [(max(a, self.lo) - self.lo, min(b, self.hi) - self.lo)
                             for _, a, b, d in self.segments if d and max(a, self.lo) < min(b, self.hi)]
        self.grad_acc = torch.zeros(self.shard, dtype=torch.float32, device=self.device) if self.stage == 2 else None

    def _init_sharded(self, model):
        self.units = zero3.llama_units(model, self.world, self.rank, self.group)
        total = sum(u.shard for u in self.units)
        self.master = torch.zeros(total, dtype=torch.float32, device=self.device)
        self.grad_acc = torch.zeros(total, dtype=torch.float32, device=self.device)
        self.local = self.master if self.dtype == torch.float32 else torch.zeros(total, dtype=self.dtype, device=self.device)
        self.decay_ranges = []
        off = 0
        with torch.no_grad():
            for u in self.units:
                flat = u.flat_from_params()  # every rank built the same weights from the seed
                u.local = self.local[off:off + u.shard]
                u.local.copy_(flat[u.lo:u.lo + u.shard])
                if self.local is not self.master:
                    self.master[off:off + u.shard].copy_(u.local.float())
                u.grad_acc = self.grad_acc[off:off + u.shard]
                for p, (a, b) in zip(u.params, u.offsets):
                    a0, b0 = max(a, u.lo), min(b, u.lo + u.shard)
                    if p.dim() >= 2 and a0 < b0:
                        self.decay_ranges.append((off + a0 - u.lo, off + b0 - u.lo))
                u.release()
                off += u.shard
        self.stats = zero3.Stats(self.units)
        zero3.install(model, self.units, self.stats)

    # ---- gradients ----
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
        """Stage 2 drops full gradients after each micro-step; 0 and 1 accumulate in p.grad;
        stage 3 has already reduced them inside backward."""
        if self.stage == 2:
            g = self._flat_grads()
            if self.world > 1:
                shard = torch.empty(self.shard, dtype=torch.float32, device=g.device)
                comm.reduce_scatter_sum(shard, g, self.group)
            else:
                shard = g
            self.grad_acc += shard

    def _reduced_grad(self):
        if self.stage in (2, 3):
            g = self.grad_acc.clone()
            self.grad_acc.zero_()
            return g
        g = self._flat_grads()
        if self.world > 1:
            dist.all_reduce(g, group=self.group)
        return g[self.lo:self.hi]

    def grad_norm(self, g):
        sq = g.double().pow(2).sum()
        if not (self.stage > 0 and self.world > 1):
            return math.sqrt(sq.item())
        dist.all_reduce(sq, group=self.group)  # each rank holds a disjoint shard
        norm = math.sqrt(sq.item())
        comm.free_gloo_temporaries(self.group, sq)
        return norm

    @torch.no_grad()
    def step(self, lr):
        """Reduce gradients, clip by the global norm, AdamW update, re-assemble the weights.
        Returns the pre-clip global gradient norm."""
        t = self.cfg
        g = self._reduced_grad()
        norm = self.grad_norm(g)  # on the device: the all-reduce runs on the training backend
        if self.offload:
            self._g_host.copy_(g)
            g = self._g_host
        if t['grad_clip'] > 0 and norm > t['grad_clip']:
            g.mul_(t['grad_clip'] / (norm + 1e-6))
        self.step_count += 1
        b1, b2, eps = t['beta1'], t['beta2'], 1e-8
        if t['weight_decay'] > 0:
            for a, b in self.decay_ranges:
                self.master[a:b].mul_(1 - lr * t['weight_decay'])
        self.exp_avg.mul_(b1).add_(g, alpha=1 - b1)
        self.exp_avg_sq.mul_(b2).addcmul_(g, g, value=1 - b2)
        bc1, bc2 = 1 - b1 ** self.step_count, 1 - b2 ** self.step_count
        denom = (self.exp_avg_sq / bc2).sqrt_().add_(eps)
        self.master.addcdiv_(self.exp_avg, denom, value=-lr / bc1)
        self._publish()
        return norm

    def _publish(self):
        if self.stage == 3:
            if self.master.data_ptr() != self.local.data_ptr():
                self.local.copy_(self.master)  # rounds to bf16 and/or crosses from host
            return
        own = self.flat[self.lo:self.hi]
        if self.master.data_ptr() != own.data_ptr():
            own.copy_(self.master)
        if self.stage == 0 or self.world == 1:
            return
        wd = wire_dtype(self.flat.dtype, self.group)
        if wd == self.flat.dtype:
            comm.all_gather_into(self.flat, own, self.group)
        else:  # gloo and bf16: gather the fp32 shards, then round once
            full = torch.empty(self.padded, dtype=wd, device=self.flat.device)
            comm.all_gather_into(full, self.master.to(device=self.flat.device, dtype=wd), self.group)
            self.flat.copy_(full)
            comm.free_gloo_temporaries(self.group, full)

    @contextlib.contextmanager
    def gathered(self, module=None):
        """Full parameters of `module` (default: the whole model) for code that runs a module's
        own forward outside the training graph (e.g. measuring it), under any stage. Stage 3
        gathers the units that hold them (a collective: every rank enters together) and
        releases them on exit; stages 0-2 always hold full parameters."""
        if self.stage != 3:
            yield
            return
        want = {id(p) for p in (module or self.model).parameters()}
        units = [u for u in self.units if any(id(p) in want for p in u.params) and u.full is None]
        for u in units:
            u.gather()
        try:
            yield
        finally:
            for u in units:
                u.release()

    # ---- full weights (checkpoints) ----
    def full_weights(self, materialize=True):
        """{name: CPU tensor} of every parameter. Stage 3 gathers unit by unit (a collective: every
        rank calls it); only ranks with `materialize` copy anything."""
        out = {}
        if self.stage != 3:
            if materialize:
                out = {n: p.detach().cpu().clone() for n, p in self.params}
            return out
        for u in self.units:
            u.gather()
            if materialize:
                for n, p in zip(u.names, u.params):
                    out[n] = p.detach().cpu().clone()
            u.release()
        return {n: out[n] for n, _ in self.params} if materialize else out

    @torch.no_grad()
    def load_full_weights(self, weights):
        """Set the compute weights from {name: tensor} (shapes checked by the caller)."""
        if self.stage != 3:
            for n, p in self.params:
                p.copy_(weights[n])
            return
        for u in self.units:
            flat = torch.cat([weights[n].reshape(-1).to(u.dtype) for n in u.names])
            flat = torch.nn.functional.pad(flat, (0, u.padded - u.numel))
            u.local.copy_(flat[u.lo:u.lo + u.shard].to(u.device))

    # ---- accounting and checkpoints ----
    def memory_terms(self):
        """Bytes on the training device (host-offloaded optimizer states are in optimizer_host)."""
        state = (self.exp_avg.numel() + self.exp_avg_sq.numel()) * 4
        if self.stage == 3:
            weights = self.local.numel() * self.local.element_size()
            separate = self.master.data_ptr() != self.local.data_ptr()
            grads = self.grad_acc.numel() * 4 + self.stats.max_grad
            comm = self.stats.max_gathered
        else:
            weights = self.flat.numel() * self.flat.element_size()
            separate = self.master.data_ptr() != self.flat[self.lo:self.hi].data_ptr()
            grads = self.last_grad_bytes + (self.grad_acc.numel() * 4 if self.grad_acc is not None else 0)
            comm = self.comm_bytes
        opt = state + (self.master.numel() * 4 if separate else 0)
        if self.offload:
            return {'weights': weights, 'grads': grads, 'optimizer': 0, 'comm_buffers': comm, 'optimizer_host': opt}
        return {'weights': weights, 'grads': grads, 'optimizer': opt, 'comm_buffers': comm}

    def state_dict(self):
        return {'stage': self.stage, 'world': self.world, 'rank': self.rank, 'numel': self.numel,
                'step_count': self.step_count, 'master': self.master.cpu().clone(), 'exp_avg': self.exp_avg.cpu().clone(),
                'exp_avg_sq': self.exp_avg_sq.cpu().clone()}

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
