"""ZeRO-3 parameter sharding: parameters live as 1/world shards and are gathered only around the
code that uses them.

Units. The model's parameters are grouped into units, each one flat buffer padded to a multiple
of the world size (rank r owns the r-th equal shard of every unit): the embedding, each block,
and the head (final norm + LM head). Outside a unit's computation its parameters are empty
tensors (numel 0), so any accidental use fails loudly instead of computing with stale values.

Gathered calls. `wrap` replaces a call site — the embedding's forward, each block's forward,
`Llama.head_loss` (norm + head + loss) — with `_GatheredCall`, an autograd Function that:
  forward   all-gathers the units' shards into full flat buffers, points the parameters at
            views of them, runs the original code with grad enabled (building the unit's own
            graph, as reentrant checkpointing does), and frees the full buffers. Parameter
            tensors that the unit's ops save for backward are not kept: a saved-tensor pack
            hook swaps any tensor living in a gathered buffer for a (unit, size, stride,
            offset) reference, so the buffer really is freed;
  backward  re-gathers (eagerly when the unit recomputes its forward under activation
            checkpointing, which reads the parameters directly; otherwise lazily, when the
            unpack hook first meets a reference — the embedding and the chunked loss never
            need it), back-propagates through the unit's graph with torch.autograd.grad, and
            reduce-scatters the parameter gradients (fp32) straight into the owner's fp32
            shard accumulator; the full buffers and the unsharded gradients are dropped.
A tied head uses the embedding's unit too: its gradient arrives in two reduce-scatters (head,
then embedding), summed in the accumulator.

Every rank runs the same units in the same order, so the gathers and reduce-scatters (world
group) interleave identically with the SP collectives inside the units. No prefetch yet: each
gather is exposed (see native/README.md).
"""
import math

import torch
import torch.distributed as dist

from .. import comm
from ..comm import wire_dtype


class Unit:
    def __init__(self, name, params, world, rank, group):
        """params: [(name, Parameter)] in model order."""
        self.name, self.world, self.rank, self.group = name, world, rank, group
        self.names = [n for n, _ in params]
        self.params = [p for _, p in params]
        self.shapes = [tuple(p.shape) for p in self.params]
        self.dtype, self.device = self.params[0].dtype, self.params[0].device
        self.offsets = []
        off = 0
        for p in self.params:
            self.offsets.append((off, off + p.numel()))
            off += p.numel()
        self.numel = off
        self.padded = math.ceil(off / world) * world
        self.shard = self.padded // world
        self.lo = rank * self.shard
        self.local = None     # this rank's shard in the compute dtype [shard] (set by the optimizer)
        self.grad_acc = None  # fp32 [shard] accumulator view (set by the optimizer)
        self.full = None      # gathered flat buffer while bound
        self.empty = torch.empty(0, dtype=self.dtype, device=self.device)

    def flat_from_params(self):
        """The unit's full flat buffer from the parameters as they are now (at setup)."""
        flat = torch.zeros(self.padded, dtype=self.dtype, device=self.device)
        for p, (a, b) in zip(self.params, self.offsets):
            flat[a:b].copy_(p.detach().reshape(-1))
        return flat

    def bind(self, flat):
        self.full = flat
        for p, (a, b), shape in zip(self.params, self.offsets, self.shapes):
            p.data = flat[a:b].view(shape)

    def gather(self, stats=None):
        """Collective over the world: make the full parameters available (no-op if they are)."""
        if self.full is not None:
            return
        with torch.no_grad():
            if self.world == 1:
                flat = self.local.clone()
            else:
                wd = wire_dtype(self.dtype, self.group)
                gathered = torch.empty(self.padded, dtype=wd, device=self.device)
                comm.all_gather_into(gathered, self.local.to(wd), self.group)
                flat = gathered.to(self.dtype)  # gloo and bf16: gathered as fp32, rounded nowhere (exact)
                if flat is not gathered:
                    comm.free_gloo_temporaries(self.group, gathered)
        self.bind(flat)
        if stats is not None:
            stats.on_gather(self)

    def release(self):
        full, self.full = self.full, None
        for p in self.params:
            p.data = self.empty
        if full is not None and self.world > 1:
            # Gloo may still hold views of the buffer it gathered into, and its worker thread may
            # drop them only after this: left to reference counting, the buffer could be freed
            # there, unseen by accounting (comm.free_gloo_temporaries). Nothing else refers to
            # it any more: saved tensors were swapped for references by the pack hook.
            comm.free_gloo_temporaries(self.group, full)

    def reduce_grads(self, grads, stats=None):
        """Sum this micro-step's unit gradients over the world into the owner's fp32 shard."""
        if all(g is None for g in grads):
            return
        flat = torch.zeros(self.padded, dtype=torch.float32, device=self.device)
        for g, (a, b) in zip(grads, self.offsets):
            if g is not None:
                flat[a:b].copy_(g.reshape(-1))
        if stats is not None:
            stats.on_grad(self, sum(g.numel() * g.element_size() for g in grads if g is not None) + flat.numel() * 4)
        if self.world > 1:
            shard = torch.empty(self.shard, dtype=torch.float32, device=self.device)
            comm.reduce_scatter_sum(shard, flat, self.group)
        else:
            shard = flat
        self.grad_acc += shard


class _Ref:
    """What a saved parameter view becomes while its unit is released."""
    __slots__ = ('unit', 'size', 'stride', 'offset')

    def __init__(self, unit, t):
        self.unit, self.size, self.stride, self.offset = unit, t.size(), t.stride(), t.storage_offset()


class Runner:
    """One gathered call site: the units it needs and how to treat their saved parameters."""

    def __init__(self, units, recompute, stats):
        self.units, self.recompute, self.stats = units, recompute, stats
        self.params = [p for u in units for p in u.params]
        # An input that requires grad, so the output does even when the real inputs do not
        # (the embedding's token ids): otherwise backward would never reach the unit.
        self.anchor = torch.empty(0, device=units[0].device, requires_grad=True)

    def gather(self):
        for u in self.units:
            u.gather(self.stats)

    def release(self):
        for u in self.units:
            u.release()

    def pack(self, t):
        key = t.untyped_storage().data_ptr()
        for u in self.units:
            if u.full is not None and key == u.full.untyped_storage().data_ptr():
                return _Ref(u, t)
        return t

    def unpack(self, x):
        if isinstance(x, _Ref):
            x.unit.gather(self.stats)
            return x.unit.full.as_strided(x.size, x.stride, x.offset)
        return x


class _GatheredCall(torch.autograd.Function):
    @staticmethod
    def forward(ctx, runner, fn, anchor, *args):
        runner.gather()
        try:
            with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(runner.pack, runner.unpack):
                inner = [a.detach().requires_grad_(a.requires_grad) if torch.is_tensor(a) else a for a in args]
                out = fn(*inner)
        finally:
            runner.release()
        ctx.runner, ctx.inner, ctx.out = runner, inner, out
        return out.detach()

    @staticmethod
    def backward(ctx, gout):
        runner, inner, out = ctx.runner, ctx.inner, ctx.out
        ctx.inner = ctx.out = None
        leaves = [a for a in inner if torch.is_tensor(a) and a.requires_grad]
        try:
            if runner.recompute:
                runner.gather()  # the checkpoint's recompute reads the parameters themselves
            grads = torch.autograd.grad(out, leaves + runner.params, gout, allow_unused=True)
            del out
            k = len(leaves)
            i = k
            for u in runner.units:
                n = len(u.params)
                u.reduce_grads(grads[i:i + n], runner.stats)
                i += n
        finally:
            runner.release()
        it = iter(grads[:k])
        return (None, None, None) + tuple(next(it) if torch.is_tensor(a) and a.requires_grad else None for a in inner)


def wrap(runner, fn):
    def call(*args):
        if not torch.is_grad_enabled():
            runner.gather()
            try:
                return fn(*args)
            finally:
                runner.release()
        return _GatheredCall.apply(runner, fn, runner.anchor, *args)
    return call


class Stats:
    """Transient bytes for memory accounting: the largest set of gathered buffers alive at once
    and the largest unsharded gradient of one unit."""

    def __init__(self, units):
        self.units = units
        self.max_gathered = 0
        self.max_grad = 0

    def on_gather(self, _unit):
        live = sum(u.full.numel() * u.full.element_size() for u in self.units if u.full is not None)
        self.max_gathered = max(self.max_gathered, live)

    def on_grad(self, _unit, nbytes):
        self.max_grad = max(self.max_grad, nbytes)


def llama_units(model, world, rank, group):
    """Units of a Llama: embed, one per block, head (final norm + untied LM head), in model order."""
    groups = {}
    order = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.startswith('embed.'):
            key = 'embed'
        elif name.startswith('layers.'):
            key = 'layers.' + name.split('.')[1]
        else:
            key = 'head'
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((name, p))
    return [Unit(k, groups[k], world, rank, group) for k in order]


def install(model, units, stats):
    """Route the model's call sites through gathered calls (instance attributes, so parameter
    names and module structure stay as they are)."""
    by = {u.name: u for u in units}
    emb = by['embed']
    model.embed.forward = wrap(Runner([emb], False, stats), model.embed.forward)
    for i, block in enumerate(model.layers):
        recompute = getattr(block, 'spindle_recompute', False)
        block.forward = wrap(Runner([by[f'layers.{i}']], recompute, stats), block.forward)
    head_units = [by['head']] + ([emb] if model.lm_head is None else [])
    model.head_loss = wrap(Runner(head_units, False, stats), model.head_loss)
