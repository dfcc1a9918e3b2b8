"""Command line: `python -m spindle train CONFIG.json [--run-dir DIR] [--no-resume]` and
`python -m spindle check`."""
import argparse
import os
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(prog='spindle', description='Spindle training runtime')
    sub = ap.add_subparsers(dest='cmd', required=True)
    t = sub.add_parser('train', help='train from a normalized run config (JSON)')
    t.add_argument('config', help='normalized run config JSON (spindle config FILE.yaml --normalize)')
    t.add_argument('--run-dir', help='run directory (default: ./runs/<name>)')
    t.add_argument('--no-resume', action='store_true', help='ignore checkpoints already in the run dir')
    sub.add_parser('check', help='print this node\'s Python / torch / CUDA / GPU facts as JSON')
    sub.add_parser('validate', help='check a config and exit').add_argument('config')
    a = ap.parse_args(argv)
    if a.cmd == 'check':
        from .check import main as check_main
        return check_main()
    import torch
    from .check import torch_supported, unsupported_torch_message
    if not torch_supported(torch.__version__):  # before any config is read or GPU touched
        print(unsupported_torch_message(torch.__version__), file=sys.stderr)
        return 2
    from .config import ConfigError, load
    if a.cmd == 'validate':
        try:
            load(a.config)
        except ConfigError as e:
            print(e, file=sys.stderr)
            return 2
        print(f'{a.config}: valid')
        return 0
    try:
        cfg = load(a.config)
    except ConfigError as e:
        print(e, file=sys.stderr)
        if a.run_dir:  # the studio watches the run dir: tell it why nothing will run
            from .train.loop import train
            return train(a.config, a.run_dir, resume=False) or 2
        return 2
    run_dir = a.run_dir or os.path.join('runs', cfg['name'])
    from .train.loop import train
    return train(a.config, run_dir, resume=not a.no_resume, cfg=cfg)
