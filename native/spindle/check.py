"""`spindle check`: one JSON object describing this node, for the studio's node probes."""
import json
import os
import platform

# The oldest torch the runtime supports (app/launch/node-scripts.ts MIN_TORCH says the same).
MIN_TORCH = (2, 4)


def torch_supported(version):
    """Whether a torch version string ("2.11.0+cu130", "1.13.0a0") is one the runtime supports."""
    parts = version.split('+')[0].split('.')
    try:
        return (int(parts[0]), int(''.join(c for c in parts[1] if c.isdigit()) or 0)) >= MIN_TORCH
    except (IndexError, ValueError):
        return False


def unsupported_torch_message(version):
    want = '.'.join(map(str, MIN_TORCH))
    return (f'torch {version} is older than the runtime supports (torch >= {want}); '
            f"install a newer one on this node, e.g. `python3 -m pip install 'torch>={want}'`")


def probe():
    info = {'spindle': None, 'python': platform.python_version(), 'executable': None, 'torch': None,
            'torch_required': '>=' + '.'.join(map(str, MIN_TORCH)), 'torch_supported': False, 'cuda': None,
            'nccl': None, 'gpus': [], 'cpu_count': os.cpu_count(), 'flash_attn': None, 'error': None}
    import sys
    import spindle
    info['spindle'], info['executable'] = spindle.__version__, sys.executable
    try:
        import torch
    except ImportError as e:
        info['error'] = f'PyTorch is not importable: {e}'
        return info
    info['torch'] = torch.__version__
    info['torch_supported'] = torch_supported(torch.__version__)
    if not info['torch_supported']:
        info['error'] = unsupported_torch_message(torch.__version__)
    info['cuda'] = torch.version.cuda
    if torch.cuda.is_available():
        try:
            v = torch.cuda.nccl.version()
            info['nccl'] = '.'.join(map(str, v)) if isinstance(v, tuple) else str(v)
        except Exception:
            info['nccl'] = None
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            info['gpus'].append({'index': i, 'name': p.name, 'memory_bytes': p.total_memory,
                                 'capability': f'{p.major}.{p.minor}'})
    try:
        import flash_attn
        info['flash_attn'] = getattr(flash_attn, '__version__', 'unknown')
    except Exception:
        pass
    return info


def main():
    print(json.dumps(probe()), flush=True)
    return 0
