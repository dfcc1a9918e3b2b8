"""The training loop and what surrounds it: run dir, events, checkpoints, signals."""
