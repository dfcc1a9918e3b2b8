"""What autograd keeps for backward, by region of the model, counted with saved-tensor hooks.

`torch.autograd.graph.saved_tensors_hooks` sees every tensor an op (or a custom Function's
save_for_backward) keeps for its backward. The census records the storage of each, once (a
storage saved by several ops, or by several layers, is memory once), and attributes it to the
region that saved it first: 'embedding' (before the first block), block i, or 'head' (final norm,
LM head and loss: the planner's `logits` term). Not counted: parameter storages (the `weights`
term, looked up when a storage is first seen, so ZeRO-3's gathered buffers are recognised too)
and the RoPE tables every block receives (computed once per forward; the planner's `workspace`).

Nested hooks. Only the innermost pair of saved-tensor hooks is active, and the runtime installs
its own inside the model: activation checkpointing (keeps nothing, recomputes in backward) and
ZeRO-3's gathered calls (keep tensors, swap gathered parameters for references). While the
census is open, every hook pair created is composed with it: a tensor counts when the active
pack hook keeps it on the device, i.e. returns a tensor with the same storage. So checkpointed
regions count as empty, ZeRO-3 units as what they keep.

Kept inputs. A wrapped call site keeps its inputs alive by reference, outside the hooks: torch's
checkpoint keeps its arguments for the recompute, a ZeRO-3 gathered call its detached inputs for
its inner graph. The runtime wraps call sites by replacing `forward` on the instance (blocks or
their MLPs, parallel/parallelize.py and optim/zero3.py) or `head_loss` on the model (ZeRO-3), so
the census counts the first argument of every such module call (and the final norm's input
when `head_loss` is wrapped) as saved by that region.

Only the first forward inside the census is recorded (one micro-step): recording starts when the
census opens and ends when the gradient of the final norm's output arrives, i.e. once the loss
and LM head backward are done. The hooks sit on modules every forward path calls (blocks, their
MLPs, the final norm), so they hold however the loop composes trunk, head and loss.
"""
import contextlib

import torch
import torch.utils.checkpoint

from .storage import storage_key

EMBEDDING, HEAD = 'embedding', 'head'


def _wrapped(module, attr='forward'):
    return attr in vars(module)


def _param_keys(model):
    keys = set()
    for p in model.parameters():
        k, _ = storage_key(p)
        if k is not None:
            keys.add(k)
    return keys


@contextlib.contextmanager
def composed_hooks(on_pack):
    """Every saved_tensors_hooks pair created inside also reports (tensor, packed) to on_pack.
    The torch class is swapped on its module for the duration (the runtime looks it up at call
    time); classes derived from it earlier (torch 2.x checkpoint internals) are not affected,
    which is right: they keep nothing."""
    graph = torch.autograd.graph
    original = graph.saved_tensors_hooks

    class Composed(original):
        def __init__(self, pack_hook, unpack_hook):
            def pack(t):
                packed = pack_hook(t)
                on_pack(t, packed)
                return packed
            super().__init__(pack, unpack_hook)

    graph.saved_tensors_hooks = Composed
    try:
        yield
    finally:
        graph.saved_tensors_hooks = original


def _keeps(t, packed):
    """The pack hook kept `t` on its device (returned a tensor on the same storage)."""
    if not isinstance(packed, torch.Tensor):
        return False
    return storage_key(packed)[0] == storage_key(t)[0]


@contextlib.contextmanager
def _checkpoint_disabled():
    """torch.utils.checkpoint.checkpoint as a plain call (parallelize looks it up at call time)."""
    original = torch.utils.checkpoint.checkpoint
    torch.utils.checkpoint.checkpoint = lambda fn, *args, **kwargs: fn(*args)
    try:
        yield
    finally:
        torch.utils.checkpoint.checkpoint = original


class SavedCensus:
    def __init__(self, model, policy, on_mark=None):
        self.model, self.policy = model, policy
        self.on_mark = on_mark or (lambda name: None)
        self.region = EMBEDDING
        self.recording = False
        self.seen = {}          # storage key -> (region, bytes)
        self.params = set()     # parameter storage keys (refreshed when an unknown storage shows up)
        self.rope = {}          # storage key -> bytes of the shared RoPE tables
        self.last_call = None   # (module, args) of the last block's call, for remat_bytes
        self._handles = []
        self._stack = None

    # ---- counting ----------------------------------------------------------------------
    def _add(self, t, region):
        if not isinstance(t, torch.Tensor):
            return
        k, n = storage_key(t)
        if k is None or k in self.rope or k in self.seen or k in self.params:
            return
        self.params = _param_keys(self.model)  # ZeRO-3 binds parameters to fresh gathered buffers
        if k in self.params:
            return
        self.seen[k] = (region, n)

    def _outer_pack(self, t):
        if self.recording:
            self._add(t, self.region)
        return t

    def _nested_pack(self, t, packed):
        if self.recording and _keeps(t, packed):
            self._add(t, self.region)

    @staticmethod
    def _unpack(t):
        return t

    # ---- module hooks ------------------------------------------------------------------
    def _backward_started(self, _grad):
        self.recording = False

    def _block_pre(self, i, last):
        def hook(block, args):
            if not self.recording:
                return
            self.region = i
            x, cos, sin = args[0], args[1], args[2]
            for t in (cos, sin):
                k, n = storage_key(t)
                if k is not None:
                    self.rope[k] = n
            if _wrapped(block):
                self._add(x, i)  # a checkpoint or ZeRO-3 gathered call keeps the block's input
            if last:
                self.last_call = (block, tuple(args))
                if x.requires_grad:
                    # Gradient w.r.t. the last block's input is complete: its backward is over.
                    x.register_hook(lambda g: self.on_mark('layer_bwd_end'))
        return hook

    def _mlp_pre(self, i):
        def hook(mlp, args):
            if self.recording and _wrapped(mlp):
                self._add(args[0], i)  # selective: the checkpointed MLP keeps its input
        return hook

    def _head_pre(self, _norm, args):
        if not self.recording:
            return
        self.region = HEAD
        if _wrapped(self.model, 'head_loss'):
            self._add(args[0], HEAD)  # ZeRO-3's gathered head call keeps its input

    def _last_post(self, _block, _args, out):
        # The loss window starts here, before ZeRO-3 gathers the head's weights.
        self.on_mark('head_start')
        if self.recording and isinstance(out, torch.Tensor) and out.requires_grad:
            # Gradient w.r.t. the last block's output is complete: loss, head and final norm
            # backward are over, the last block's backward starts. (Hooked on the block's own
            # output, which is never a leaf: leaf hooks do not fire inside torch.autograd.grad,
            # which ZeRO-3's gathered head call runs its backward with.)
            out.register_hook(lambda g: self.on_mark('layer_bwd_start'))

    def _head_post(self, _norm, _args, out):
        if self.recording and isinstance(out, torch.Tensor) and out.requires_grad:
            out.register_hook(self._backward_started)

    # ---- context -----------------------------------------------------------------------
    def __enter__(self):
        m = self.model
        n = len(m.layers)
        h = self._handles
        for i, block in enumerate(m.layers):
            h.append(block.register_forward_pre_hook(self._block_pre(i, i == n - 1)))
            h.append(block.mlp.register_forward_pre_hook(self._mlp_pre(i)))
        h.append(m.layers[-1].register_forward_hook(self._last_post))
        h.append(m.norm.register_forward_pre_hook(self._head_pre))
        h.append(m.norm.register_forward_hook(self._head_post))
        self.params = _param_keys(m)
        self.region, self.recording = EMBEDDING, True
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(torch.autograd.graph.saved_tensors_hooks(self._outer_pack, self._unpack))
        self._stack.enter_context(composed_hooks(self._nested_pack))
        return self

    def __exit__(self, *exc):
        self._stack.__exit__(*exc)
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self.recording = False
        return False

    # ---- results -----------------------------------------------------------------------
    def by_region(self):
        out = {}
        for region, n in self.seen.values():
            out[region] = out.get(region, 0) + n
        return out

    def per_layer(self, layers):
        r = self.by_region()
        return [r.get(i, 0) for i in range(layers)]

    def rope_bytes(self):
        return sum(self.rope.values())

    def remat_bytes(self):
        """Bytes that exist again, on top of everything the census counted, while the last block's
        backward recomputes its checkpointed part - the start of the `layer_backward` moment.

        Measured by running the last block once more, with grad, on the inputs it kept, with
        checkpointing off (the recompute is exactly this forward) and the census's counting
        rules; ZeRO-3 gathers its weights as in any call. Then:
          full:      everything the block saves, except storages alive anyway (its input);
          selective: what the block saves without checkpointing minus what it saved with it
                     (attention keeps its tensors; only the MLP's inside is recomputed).
        Collective ops inside (SP attention, ZeRO-3 gathers) run on every rank in step: every
        rank measures the same step."""
        if self.last_call is None or self.policy == 'none':
            return 0
        block, args = self.last_call
        self.last_call = None
        x_key = storage_key(args[0])[0]
        probe = {}

        def record(t):
            k, n = storage_key(t)
            if k is None or k in self.rope or k in probe:
                return
            if k not in self.params:
                self.params = _param_keys(self.model)
            if k not in self.params:
                probe[k] = n

        def outer(t):
            record(t)
            return t

        def nested(t, packed):
            if _keeps(t, packed):
                record(t)

        if _wrapped(block):
            record(args[0])  # kept by the wrapper, as in the census
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(outer, self._unpack), \
                composed_hooks(nested), _checkpoint_disabled():
            out = block(*args)
        del out
        total = sum(probe.values())
        if self.policy == 'full':
            return total - probe.get(x_key, 0)
        return total - self.per_layer(len(self.model.layers))[-1]
