"""Learning rate at an optimizer step (1-based): linear warm-up, then cosine, linear or constant
decay to lr * min_lr_ratio at the last step."""
import math


def lr_at(step, t):
    peak, warm, total = t['lr'], t['warmup_steps'], t['steps']
    floor = peak * t['min_lr_ratio']
    if warm and step <= warm:
        return peak * step / warm
    if t['schedule'] == 'constant':
        return peak
    span = max(1, total - warm)
    frac = min(1.0, max(0.0, (step - warm) / span))
    if t['schedule'] == 'linear':
        return peak - (peak - floor) * frac
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * frac))
