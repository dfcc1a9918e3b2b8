"""The training loop: one optimizer step = grad_accum micro-steps over this rank's shard of
micro_batch sequences, loss divided by the global label count, ZeRO step, events, checkpoints."""
import hashlib
import json
import logging
import os
import platform
import sys
import time
import traceback

import torch
import torch.distributed as dist

import spindle
from . import checkpoint
from .events import EventWriter
from .loss import head_loss_fn
from .metrics import flops_per_token, gather_memory, peak_flops
from ..accounting import Accountant
from .runtime import StopFlag, init_process, setup_logging
from ..data.loader import DataStream, sequence_index
from ..data.sources import load_documents
from ..data.tokenizer import load_tokenizer
from ..model import Llama, ModelArgs
from ..optim.schedule import lr_at
from ..optim.zero import ZeroAdamW
from ..parallel.layout import attn_context, check_seq_len
from ..parallel.mesh import build_mesh
from ..parallel.parallelize import parallelize

log = logging.getLogger('spindle.train')


def config_hash(cfg):
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, separators=(',', ':')).encode()).hexdigest()[:16]


def check_supported(cfg, device):
    p = cfg['parallel']
    off = p['offload']
    if off['params']:
        raise ValueError('parallel.offload.params: parameter offload is not implemented by this runtime (ZeRO-3 keeps '
                         '1/world of the weights on each device instead); set it to false')
    if off['activations'] and p['checkpointing'] == 'none':
        raise ValueError('parallel.offload.activations moves what checkpointing keeps to host memory: it needs '
                         'parallel.checkpointing full or selective')


class Trainer:
    def __init__(self, cfg, run_dir, proc):
        self.cfg, self.run_dir, self.proc = cfg, run_dir, proc
        t, p = cfg['training'], cfg['parallel']
        check_supported(cfg, proc.device)
        self.mesh = build_mesh(proc.world, proc.rank, p['ulysses'], p['ring'], proc.device.type)
        check_seq_len(t['seq_len'], p['ulysses'], p['ring'], p['ring_variant'], p['chunks'])
        self.args = ModelArgs.from_config(cfg['model']['architecture'])
        tok = load_tokenizer(cfg['data']['tokenizer'], self.args.vocab)
        docs = load_documents(cfg['data'], t['task'], tok)
        self.data = DataStream(docs, t['seq_len'], t['seed'], cfg['data']['pack'], tok.pad)
        # Initialise on CPU in fp32 from the seed: identical weights for every layout and device.
        torch.manual_seed(t['seed'])
        model = Llama(self.args)
        dtype = torch.bfloat16 if t['precision'] == 'bf16' else torch.float32
        model = model.to(device=proc.device, dtype=dtype)
        # Activation offload keeps checkpointed inputs in host memory (on CPU: where they are).
        self.model = parallelize(model, self.mesh, p['ring_variant'], p['checkpointing'], device=proc.device,
                                 chunks=p['chunks'], offload_activations=p['offload']['activations'])
        # Optimizer offload moves states to host memory; on CPU they are there already (no-op).
        offload = p['offload']['optimizer'] and proc.device.type == 'cuda'
        self.opt = ZeroAdamW(self.model, p['zero'], t, self.mesh.world_group, proc.world, proc.rank, offload=offload)
        self.loss_fn = head_loss_fn(t['loss'], t['loss_chunk_tokens'])
        self.accounting = Accountant(self.model, self.opt, cfg, proc.device)  # measures the first step
        self.events = EventWriter(run_dir, proc.rank)
        self.stop = StopFlag().install()
        self.step = 0
        self.resumed_from = None

    def layout(self):
        p = self.cfg['parallel']
        return {'dp': self.mesh.dp, 'ring': self.mesh.ring, 'ulysses': self.mesh.ulysses, 'zero': p['zero'],
                'checkpointing': p['checkpointing'], 'chunks': p['chunks'], 'ring_variant': p['ring_variant']}

    def maybe_resume(self):
        found = checkpoint.latest(self.run_dir)
        if found is None:
            return
        step, path = found
        meta = checkpoint.load(path, self.model, self.opt, self.proc.rank)
        if meta.get('layout') != self.layout():
            raise ValueError(f'checkpoint {path} was written with layout {meta.get("layout")}, this run uses {self.layout()}; '
                             'pass --no-resume to start over')
        self.step = self.resumed_from = step
        log.info('resumed from %s (step %d)', path, step)

    def micro_batches(self, step):
        """This DP rank's micro-batches of optimizer step `step` (1-based); SP ranks of one DP
        rank read the same full sequences and each keeps its own tokens."""
        t = self.cfg['training']
        return [self.data.batch(sequence_index(step - 1, m, self.mesh.dp_rank, 0, t['grad_accum'], self.mesh.dp,
                                               t['micro_batch']), t['micro_batch'])
                for m in range(t['grad_accum'])]

    def train_step(self, step):
        dev, variant, chunks = self.proc.device, self.cfg['parallel']['ring_variant'], self.cfg['parallel']['chunks']
        batches = self.micro_batches(step)
        local = []
        for b in batches:
            ctx, idx = attn_context(b.doc.to(dev), self.mesh, variant, chunks)
            local.append((ctx, idx, b))
        # Global label count: this rank's shard of every micro-batch, summed over all ranks.
        count = torch.tensor([float(sum(b.weights[:, idx.cpu()].sum() for _, idx, b in local))], dtype=torch.float64, device=dev)
        if self.proc.world > 1:
            dist.all_reduce(count)
        denom = max(count.item(), 1.0)
        total = torch.zeros((), dtype=torch.float64, device=dev)
        for ctx, idx, b in local:
            ic = idx.cpu()
            tok, pos = b.tokens[:, ic].to(dev), b.positions[:, ic].to(dev)
            lab, w = b.labels[:, ic].to(dev), b.weights[:, ic].to(dev)
            s = self.model.head_loss(self.model.trunk(tok, pos, ctx), lab, w, self.loss_fn)
            (s / denom).backward()
            self.opt.after_micro_step()
            total += s.detach().double()
        lr = lr_at(step, self.cfg['training'])
        norm = self.opt.step(lr)
        # One all-reduce for the loss and the stop vote, so all ranks stop after the same step.
        vec = torch.stack([total, torch.tensor(float(self.stop.requested), dtype=torch.float64, device=dev)])
        if self.proc.world > 1:
            dist.all_reduce(vec)
        return vec[0].item() / denom, lr, norm, vec[1].item() > 0

    def save(self, step):
        meta = {'layout': self.layout(), 'config_hash': config_hash(self.cfg), 'world': self.proc.world}
        rel = checkpoint.save(self.run_dir, step, self.model, self.opt, meta, self.proc.rank, self.proc.local_rank)
        self.events.emit('checkpoint', step=step, path=rel)

    def emit_memory(self, step):
        per_rank = gather_memory(self.opt, self.proc.device, self.proc.world, self.accounting.report())
        for r, m in enumerate(per_rank):
            self.events.emit('memory', step=step, rank=r, node=r // max(1, self.proc.local_world), **m)

    def run(self):
        t = self.cfg['training']
        dev = self.proc.device
        self.events.emit('run_start', name=self.cfg['name'], config_hash=config_hash(self.cfg), world=self.proc.world,
                         nodes=self.proc.nodes, layout=self.layout(),
                         device=torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu',
                         versions={'spindle': spindle.__version__, 'python': platform.python_version(),
                                   'torch': torch.__version__, 'cuda': torch.version.cuda},
                         resumed_from=self.resumed_from)
        tokens_per_step = t['seq_len'] * t['micro_batch'] * t['grad_accum'] * self.mesh.dp
        fpt, peak = flops_per_token(self.args, t['seq_len']), peak_flops(dev, t['precision'])
        start, first = time.time(), True
        while self.step < t['steps']:
            step = self.step + 1
            t0 = time.time()
            with self.accounting.measure(first):
                loss, lr, norm, stop = self.train_step(step)
            if dev.type == 'cuda':
                torch.cuda.synchronize(dev)
            dt = max(time.time() - t0, 1e-9)
            self.step = step
            tps = tokens_per_step / dt
            log.info('step %d loss %.6f lr %.3g grad_norm %.4g %.0f tok/s', step, loss, lr, norm, tps)
            if step % t['log_every'] == 0 or step == t['steps'] or stop:
                mfu = tps * fpt / (peak * self.proc.world) if peak else None
                self.events.emit('step', step=step, loss=loss, lr=lr, grad_norm=norm, tokens=step * tokens_per_step,
                                 tokens_per_s=tps, elapsed_s=time.time() - start, mfu=mfu)
            if first:
                self.emit_memory(step)
                first = False
            if stop:
                log.info('stop requested (signal %s): stopping after step %d', self.stop.signal, step)
                return 'stopped', time.time() - start
            every = t['checkpoint_every']
            if (every and step % every == 0) or step == t['steps']:
                self.save(step)
        return 'succeeded', time.time() - start


def train(config_path, run_dir, resume=True, cfg=None):
    """Entry of `spindle train`. Returns the process exit code."""
    from ..config import load
    rank = int(os.environ.get('RANK', '0'))
    os.makedirs(run_dir, exist_ok=True)
    setup_logging(run_dir, rank)
    events = EventWriter(run_dir, rank)
    if rank == 0:
        try:  # a fresh run dir starts without the previous run's end marker
            os.remove(os.path.join(run_dir, '.run_end'))
        except FileNotFoundError:
            pass
    trainer, start = None, time.time()
    try:
        cfg = cfg or load(config_path)
        if rank == 0 and config_path and os.path.abspath(config_path) != os.path.abspath(os.path.join(run_dir, 'config.json')):
            with open(os.path.join(run_dir, 'config.json'), 'w') as f:
                json.dump(cfg, f, indent=2)
        proc = init_process(cfg)
        if dist.is_initialized():
            dist.barrier()  # rank 0 has cleared the end marker before anyone can fail
        trainer = Trainer(cfg, run_dir, proc)
        if resume:
            trainer.maybe_resume()
        status, elapsed = trainer.run()
        if rank == 0:  # after its own last event; failures below may come from any rank
            events.run_end_once(status, trainer.step, elapsed)
        log.info('run %s at step %d', status, trainer.step)
        return 0 if status == 'succeeded' else 143
    except Exception as e:
        tb = traceback.format_exc()
        log.error('%s', tb)
        print(tb, file=sys.stderr, flush=True)
        events.emit('error', rank=rank, message=str(e) or type(e).__name__, traceback=tb)
        if rank != 0:
            # Let rank 0 end the run after every rank's error when all fail together; if rank 0
            # is stuck in a collective instead, this rank's run_end still marks the failure.
            time.sleep(2.0)
        events.run_end_once('failed', trainer.step if trainer else 0, time.time() - start)
        return 1
    finally:
        if dist.is_initialized():
            try:
                dist.destroy_process_group()
            except Exception:
                pass
