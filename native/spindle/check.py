"""`spindle check`: one JSON object describing this node, for the studio's node probes."""
import json
import os
import platform


def probe():
    info = {'spindle': None, 'python': platform.python_version(), 'executable': None, 'torch': None, 'cuda': None,
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
