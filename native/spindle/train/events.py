"""Run events (app/metrics/events.ts is the source of truth; EVENTS_VERSION must match).

Rank 0 writes each event as one JSON line to <run_dir>/events.jsonl and to stdout, flushed per
line. Errors from any rank are appended to the same file; `run_end` is written once per run dir
(an O_EXCL marker decides which writer wins when several ranks fail at once).
"""
import json
import math
import os
import sys
import time

EVENTS_VERSION = 1


def _clean(v):
    """JSON has no NaN/Infinity; a diverged loss is reported as null rather than invalid JSON."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


class EventWriter:
    def __init__(self, run_dir, rank, to_stdout=True):
        self.run_dir, self.rank = run_dir, rank
        self.path = os.path.join(run_dir, 'events.jsonl')
        self.to_stdout = to_stdout and rank == 0

    def _write(self, obj):
        line = json.dumps(_clean(obj), separators=(',', ':')) + '\n'
        # One write on an O_APPEND descriptor: lines from several ranks never interleave.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        if self.to_stdout:
            sys.stdout.write(line)
            sys.stdout.flush()

    def emit(self, type_, **fields):
        """Rank 0 only (other ranks' calls are ignored), except for errors and run_end."""
        if self.rank != 0 and type_ not in ('error', 'run_end'):
            return
        self._write({'v': EVENTS_VERSION, 't': time.time(), 'type': type_, **fields})

    def run_end_once(self, status, step, elapsed_s):
        marker = os.path.join(self.run_dir, '.run_end')
        try:
            os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            return False
        self.emit('run_end', status=status, step=int(step), elapsed_s=float(elapsed_s))
        return True
