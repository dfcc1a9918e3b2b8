"""One measured step, reported by the planner's memory terms (docs/planner.md §2.3).

The loop wraps its first step in `Accountant.measure()`; afterwards `report()` gives this rank's
measurement, which the `memory` event carries:

  weights, grads, optimizer   the state tensors, exact (the optimizer's own byte count of its
                              flat parameter buffer, gradients and AdamW states; the planner
                              counts each at its size for the whole step)
  activations                 saved for backward, all layers (saved-tensor hooks, see saved.py),
                              plus at `layer_backward` what the last layer's recompute saves
  logits                      allocated bytes the LM head and loss add, at their peak: from the
                              final norm's start until the last block's backward starts
  workspace                   the RoPE tables (shared by every block) at `loss`; at
                              `layer_backward` the peak the last block's backward adds above
                              what it starts with, less its rematerialized tensors and the
                              gradients of its parameters
  comm_buffers                the optimizer's gradient reduction buffer

Moments: `loss` is the end of forward through the loss backward; `layer_backward` the last
block's backward. `terms` is the moment with the larger measured allocation (when a trace
exists, else `loss`); `phases` has both. On CPU the allocation trace comes from the profiler's
memory events, on CUDA from the caching allocator's counters.
"""
import gc
import contextlib

import torch

from .alloc import trace_for
from .saved import EMBEDDING, HEAD, SavedCensus


class Accountant:
    def __init__(self, model, opt, cfg, device):
        self.model, self.opt, self.device = model, opt, device
        self.policy = cfg['parallel']['checkpointing']
        self.layers = len(model.layers)
        self._report = None

    @contextlib.contextmanager
    def measure(self, active=True):
        """Measure the step run inside (when active and not measured yet)."""
        if not active or self._report is not None:
            yield
            return
        states0 = self.opt.memory_terms()
        trace = trace_for(self.device)
        mark = getattr(trace, 'mark', lambda name: None)
        census = SavedCensus(self.model, self.policy, on_mark=mark)
        # Python's cycle collector frees garbage whenever allocation counts say so; inside the
        # measured step that would move frees between windows from run to run. Collect first,
        # then hold it off for this one step.
        gc.collect()
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            with trace, census:
                yield
        finally:
            if was_enabled:
                gc.enable()
        remat = census.remat_bytes()
        self._report = self._build(census, trace, remat, states0)

    def _build(self, census, trace, remat, states0):
        states = self.opt.memory_terms()
        regions = census.by_region()
        layers = census.per_layer(self.layers)
        saved = sum(layers) + regions.get(EMBEDDING, 0)
        rope = census.rope_bytes()
        windows = trace.windows() if hasattr(trace, 'windows') else None
        # Absolute allocated = what existed when the step began + what the trace saw on top. CUDA
        # knows the first; on CPU (profiler) it is the state tensors, the only tensors alive
        # between steps.
        base = getattr(trace, 'base', None)
        if base is None:
            base = states0['weights'] + states0['grads'] + states0['optimizer']
        common = {'weights': states['weights'], 'grads': states['grads'], 'optimizer': states['optimizer'],
                  'comm_buffers': states.get('comm_buffers', 0)}
        loss = {**common, 'activations': saved, 'workspace': rope}
        layer = {**common, 'activations': saved + remat}
        peaks = None
        if windows and 'head_start' in windows and 'layer_bwd_start' in windows:
            live, peak = windows['head_start']
            loss['logits'] = peak - live
            live2, peak2 = windows['layer_bwd_start']
            # New gradients of the last block's parameters appear inside this window (the
            # runtime allocates .grad lazily); they are the `grads` term, not workspace.
            block_grads = sum(p.numel() * p.element_size() for p in self.model.layers[-1].parameters())
            layer['workspace'] = max(0, peak2 - live2 - remat - block_grads) + rope
            peaks = {'step': base + windows['step'][1], 'loss': base + peak, 'layer_backward': base + peak2}
        phase = 'layer_backward' if peaks and peaks['layer_backward'] > peaks['loss'] else 'loss'
        out = {'phase': phase, 'phases': {'loss': loss, 'layer_backward': layer}, 'peaks': peaks,
               'saved': {'layers': layers, 'embedding': regions.get(EMBEDDING, 0), 'head': regions.get(HEAD, 0),
                         'remat': remat, 'rope': rope}}
        if self.device.type == 'cuda' and peaks:
            out['cuda'] = {'max_allocated': peaks['step'], 'max_reserved': trace.max_reserved}
        return out

    def report(self):
        """This rank's measurement (None before the measured step)."""
        return self._report
