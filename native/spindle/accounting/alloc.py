"""Allocated bytes over one step, with named marks, on CUDA and on CPU.

CUDA: the caching allocator's counters (memory_allocated, max_memory_allocated, reset at each
mark so each window between two marks gets its own peak).
CPU: PyTorch's CPU allocator reports every allocation and free to the profiler when
profile_memory is on; the running sum of those events over the step is a
live-bytes curve of everything allocated inside the step, i.e. max_memory_allocated for CPU minus
what existed before the step (parameters, optimizer states), which the caller adds back. Marks
are zero-length record_function ranges on the same clock.

Result: for each window between consecutive marks, the live bytes at its start and its peak,
relative to the start of the step.
"""
import contextlib
import os
import time
import warnings

import torch

# Kineto, under the CPU profiler, logs an error on every machine without a GPU ("gpuGetDeviceCount
# failed") and torch warns that a profile without a schedule keeps one cycle; neither applies to
# a trace of one step, and both landed in every rank's log.
os.environ.setdefault('KINETO_LOG_LEVEL', '5')
warnings.filterwarnings('ignore', message='.*Profiler clears events at the end of each cycle')


class CudaTrace:
    def __init__(self, device):
        self.device = device
        self.marks = []   # (name, live at mark, peak since previous mark), relative to base
        self.base = 0     # allocated when the step started (absolute)
        self.max_reserved = 0

    def __enter__(self):
        torch.cuda.synchronize(self.device)
        self.base = torch.cuda.memory_allocated(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        self.marks.append(('start', 0, 0))
        return self

    def mark(self, name):
        peak = torch.cuda.max_memory_allocated(self.device) - self.base
        live = torch.cuda.memory_allocated(self.device) - self.base
        self.max_reserved = max(self.max_reserved, torch.cuda.max_memory_reserved(self.device))
        torch.cuda.reset_peak_memory_stats(self.device)
        self.marks.append((name, live, peak))

    def __exit__(self, *exc):
        self.mark('end')
        return False

    def windows(self):
        return _windows(self.marks)


class CpuTrace:
    base = None  # the profiler sees only what the step allocates; the caller adds what existed

    def __init__(self):
        self.prof = None
        self.marks = []
        self.ok = False

    def __enter__(self):
        from torch.profiler import ProfilerActivity, profile
        self.prof = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
        self.prof.__enter__()
        self.mark('start')
        return self

    def mark(self, name):
        # The profiler stamps events in whole microseconds: an allocation or free in the same
        # microsecond as a mark could fall on either side of it, varying with machine speed.
        # Keeping a mark's own microsecond free of them makes the windows exact.
        _tick()
        with torch.autograd.profiler.record_function('spindle.mark.' + name):
            pass
        _tick()

    def __exit__(self, *exc):
        self.mark('end')
        self.prof.__exit__(*exc)
        try:
            events = self.prof.profiler.kineto_results.events()
        except AttributeError:  # a torch without the raw event list: no CPU trace
            return False
        timeline = []
        for i, e in enumerate(events):
            name = e.name()
            if name == '[memory]':
                timeline.append((e.start_ns(), 0, i, int(e.nbytes())))
            elif name.startswith('spindle.mark.'):
                # At equal timestamps a mark sorts after the allocations (the conservative side).
                timeline.append((e.start_ns(), 1, i, name[len('spindle.mark.'):]))
        timeline.sort()
        live = peak = 0
        marks = []
        for _, kind, _, v in timeline:
            if kind == 0:
                live += v
                peak = max(peak, live)
            else:
                marks.append((v, live, peak))
                peak = live
        self.marks = marks
        self.ok = bool(marks) and marks[0][0] == 'start'
        return False

    def windows(self):
        return _windows(self.marks) if self.ok else None


def _tick():
    """Wait until the clock has moved on by more than a microsecond."""
    end = time.perf_counter_ns() + 2_000
    while time.perf_counter_ns() < end:
        pass


def _windows(marks):
    """{name of the window's first mark: (live at its start, peak inside it)}; the step as 'step'.
    A mark that fired more than once (several micro-steps) keeps its first window."""
    out = {}
    step_peak = 0
    for (name, live, _), (_, _, peak_next) in zip(marks, marks[1:]):
        out.setdefault(name, (live, peak_next))
        step_peak = max(step_peak, peak_next)
    out['step'] = (0, step_peak)
    return out


def trace_for(device):
    if device.type == 'cuda':
        return CudaTrace(device)
    if device.type == 'cpu':
        return CpuTrace()
    return contextlib.nullcontext()
