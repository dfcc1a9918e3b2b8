"""FSDP2 (torch.distributed.fsdp.fully_shard) against spindle's own ZeRO 1/2/3, on CPU with gloo.

    .venv/bin/python native/bench/fsdp2_vs_zero.py            # writes native/bench/results/fsdp2-<machine>-<date>.json
    .venv/bin/python native/bench/fsdp2_vs_zero.py --only zero3,fsdp2 --steps 4 --out /tmp/x.json
(about 2 minutes on 2 cores for the 22 cases at the defaults: seq_len 256, 8 steps)

One spawned gloo world of 4 processes on 127.0.0.1 (as native/tests/dist_util.py does) trains the
tiny Llama of resources/fixtures/configs/tiny-cpu.json (2 layers, hidden 64, 8 heads / 2 kv heads,
ffn 176, byte vocab 260) on the sample corpus, the same seed and data for every case, over two SP
layouts where every rank of dp x sp is in the sharding group: dp 2 x ulysses 2 and ulysses 2 x
ring 2 (zigzag). Per layout:

  ours    ZeroAdamW stages 1, 2, 3 as the trainer applies it (parallelize(), then the optimizer);
          stage 3 also in bf16 (bf16 weights, fp32 master) and with full checkpointing
  fsdp2   fully_shard on the embedding, each block and the head (final norm + LM head + loss as
          one module: the runtime's ZeRO-3 units), then a root that owns no parameters, over the
          world group (DeviceMesh.from_group(WORLD)), gradients summed
          (divide factor 1, sum-only collectives: the loss is already divided by the global
          token count), the embedding not re-gathered in backward; the optimizer is the same
          AdamW arithmetic as ZeroAdamW run on the local shards (so loss curves compare the
          sharding, not two optimizers):
            reshard_after_forward True (ZeRO-3) and False (SHARD_GRAD_OP, the ZeRO-2-like mode);
            MixedPrecisionPolicy(param_dtype=bf16, reduce_dtype=fp32) (cast_forward_inputs off,
            so RoPE tables stay fp32 as in the runtime; the fp32 shards start from the init
            rounded to bf16, as the runtime's bf16 master does);
            full checkpointing; CPUOffloadPolicy(pin_memory=True) and (pin_memory=False).

Measured per rank: the runtime's own accounting of step 1 (spindle.accounting.Accountant: per-term
bytes by the planner's names, saved-tensor census, CPU profiler trace; on FSDP2 through a view that
shows DTensor parameters as their local shards, because the census cannot read a DTensor's storage,
and with FSDP2's transient gathered / gradient bytes taken from wrapped FSDPParamGroup methods,
since FSDP2 reports none), the allocated peak of
steps 2-4 (CpuTrace, relative to the step's start, plus the resident state at its start; the
lowest of the three is reported, since frees on gloo's worker thread are invisible to it), the
resident bytes between steps (distinct storages of parameters, gradients, optimizer states), the
median and fastest step time after warm-up (steps 5..N, untraced), and the loss / grad-norm curve, compared
with zero1 (fp32) or zero3-bf16 (bf16) of the same layout. Also probed: the collectives FSDP2 calls
on this torch's gloo, and whether the accounting opens on the FSDP2 model as it is. A case that
fails records its exception (type, message, the innermost frames) and the run goes on.
"""
import argparse
import copy
import datetime
import json
import os
import platform
import socket
import statistics
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE = os.path.dirname(HERE)
REPO = os.path.dirname(NATIVE)
if NATIVE not in sys.path:
    sys.path.insert(0, NATIVE)

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

WORLD = 4
LAYOUTS = [('dp2u2', dict(ulysses=2, ring=1)), ('u2r2', dict(ulysses=2, ring=2))]
# (name, implementation, options). fp32 and checkpointing none unless said.
CASES = [
    ('zero1', 'ours', dict(zero=1)),
    ('zero2', 'ours', dict(zero=2)),
    ('zero3', 'ours', dict(zero=3)),
    ('fsdp2', 'fsdp2', dict(raf=True)),
    ('fsdp2-raf0', 'fsdp2', dict(raf=False)),
    ('zero3-bf16', 'ours', dict(zero=3, precision='bf16')),
    ('fsdp2-bf16', 'fsdp2', dict(raf=True, precision='bf16')),
    ('zero3-full', 'ours', dict(zero=3, checkpointing='full')),
    ('fsdp2-full', 'fsdp2', dict(raf=True, checkpointing='full')),
    ('fsdp2-offload', 'fsdp2', dict(raf=True, offload='pinned')),
    ('fsdp2-offload-nopin', 'fsdp2', dict(raf=True, offload='unpinned')),
]
REFERENCE = {'fp32': 'zero1', 'bf16': 'zero3-bf16'}  # loss curves are compared with these


# ---------------------------------------------------------------------------------------------
# FSDP2 side

class Head(torch.nn.Module):
    """The runtime's head unit as a module: final norm + LM head + loss (Llama.head_loss), so FSDP2
    can shard it as one group whose forward input (the trunk's output) requires grad: its
    reduce-scatter then runs as soon as the head's backward is done, as ZeRO-3's does."""

    def __init__(self, model, loss_fn):
        super().__init__()
        self.norm, self.lm_head = model.norm, model.lm_head
        self.loss_fn = loss_fn

    def forward(self, x, labels, weights):
        return self.loss_fn(self.norm(x), self.lm_head.weight, labels, weights)


class Step(torch.nn.Module):
    """The FSDP2 root (it owns no parameters): trunk, then the head unit."""

    def __init__(self, model, loss_fn):
        super().__init__()
        self.model = model
        self.head = Head(model, loss_fn)

    def forward(self, tokens, positions, ctx, labels, weights):
        return self.head(self.model.trunk(tokens, positions, ctx), labels, weights)


def shard_fsdp2(model, loss_fn, opts):
    """fully_shard per runtime ZeRO-3 unit: the embedding, each block, the head (final norm + LM
    head), then the root. Tied embeddings are not handled (the tiny model's head is untied)."""
    from torch.distributed.device_mesh import DeviceMesh
    from torch.distributed.fsdp import CPUOffloadPolicy, MixedPrecisionPolicy, OffloadPolicy, fully_shard
    dm = DeviceMesh.from_group(dist.group.WORLD, 'cpu')
    if opts.get('precision') == 'bf16':
        mpp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32, cast_forward_inputs=False)
    else:
        mpp = MixedPrecisionPolicy()
    off = opts.get('offload')
    policy = CPUOffloadPolicy(pin_memory=(off == 'pinned')) if off else OffloadPolicy()
    kw = dict(mesh=dm, mp_policy=mpp, offload_policy=policy, reshard_after_forward=opts['raf'])
    root = Step(model, loss_fn)
    units = [model.embed, *model.layers, root.head]
    for m in units:
        fully_shard(m, **kw)
    # The root reaches the head's norm and LM head through the model too: they are the head's.
    fully_shard(root, ignored_params=set(root.head.parameters()), **kw)
    model.embed.set_unshard_in_backward(False)  # its backward needs no weight (as in optim/zero3.py)
    for m in units:
        m.set_gradient_divide_factor(1.0)
        m.set_force_sum_reduction_for_comms(True)
    return root


class FsdpTracker:
    """What FSDP2 holds beyond the shards, sampled at each of its unshard / wait / post-backward
    calls (FSDPParamGroup methods wrapped for the benchmark; torch is not modified): the bytes of
    unsharded parameters, all-gather outputs still referenced (a group's pending result and the
    one the comm context keeps for overlap) and the reduce-scatter input the comm context keeps
    after a unit's reduction; the most units holding full parameters at once; and per unit, its
    unsharded gradients plus its reduce-scatter input (ZeroAdamW's Stats.max_grad counterpart)."""

    def __init__(self):
        self.groups = []
        self.reset()

    def reset(self):
        self.groups.clear()
        self.max_held = self.max_units = self.max_unit_grad = self.max_rs_kept = 0

    def install(self):
        from torch.distributed.fsdp._fully_shard._fsdp_param_group import FSDPParamGroup
        tracker = self
        for name in ('unshard', 'wait_for_unshard'):
            orig = getattr(FSDPParamGroup, name)

            def wrapped(group, *a, _orig=orig, **k):
                r = _orig(group, *a, **k)
                tracker.sample(group)
                return r
            setattr(FSDPParamGroup, name, wrapped)
        orig_pb = FSDPParamGroup.post_backward

        def post_backward(group, *a, **k):
            grads = [fp.unsharded_param.grad for fp in group.fsdp_params
                     if hasattr(fp, '_unsharded_param') and fp.unsharded_param.grad is not None]
            tracker.sample(group)
            r = orig_pb(group, *a, **k)
            rs = group.comm_ctx.reduce_scatter_state
            rs_bytes = _distinct([rs.reduce_scatter_input]) if rs is not None and grads else 0
            tracker.max_unit_grad = max(tracker.max_unit_grad, _distinct(grads) + rs_bytes)
            tracker.sample(group)
            return r
        FSDPParamGroup.post_backward = post_backward

    def sample(self, group):
        from spindle.accounting.storage import storage_key
        if group not in self.groups:
            self.groups.append(group)
        seen, total, units = set(), 0, 0

        def add(t):
            nonlocal total
            k, n = storage_key(t)
            if k is not None and k not in seen:
                seen.add(k)
                total += n
                return True
            return False
        for g in self.groups:
            held = False
            if g._all_gather_result is not None:
                held |= add(g._all_gather_result.all_gather_output)
            if g.is_unsharded:
                for fp in g.fsdp_params:
                    for t in getattr(fp, 'all_gather_outputs', []):
                        held |= add(t)
            units += held
        ctx = getattr(group, 'comm_ctx', None)
        if ctx is not None and ctx.all_gather_state is not None:
            add(ctx.all_gather_state.all_gather_result.all_gather_output)
        if ctx is not None and ctx.reduce_scatter_state is not None:
            before = total
            add(ctx.reduce_scatter_state.reduce_scatter_input)
            self.max_rs_kept = max(self.max_rs_kept, total - before)
        self.max_held = max(self.max_held, total)
        self.max_units = max(self.max_units, units)

    def report(self):
        return {'max_held_bytes': self.max_held, 'max_units_unsharded': self.max_units,
                'max_unit_grad_bytes': self.max_unit_grad, 'rs_input_kept_bytes': self.max_rs_kept}


TRACKER = FsdpTracker()


class FsdpAdamW:
    """ZeroAdamW's arithmetic (decoupled decay on matrices, global-norm clipping, bias-corrected
    AdamW) on FSDP2's local fp32 shards; the norm is summed in float64 and all-reduced like
    ZeroAdamW.grad_norm. Exposes what the accounting and this benchmark read."""

    def __init__(self, model, train_cfg, group):
        self.cfg, self.group = train_cfg, group
        self.params = [p for p in model.parameters() if p.requires_grad]
        with torch.no_grad():
            self.local = [p.to_local() for p in self.params]
        self.exp_avg = [torch.zeros_like(x, dtype=torch.float32) for x in self.local]
        self.exp_avg_sq = [torch.zeros_like(x, dtype=torch.float32) for x in self.local]
        self.step_count = 0
        self.grad_bytes = 0

    def after_micro_step(self):
        pass

    @torch.no_grad()
    def step(self, lr):
        t = self.cfg
        grads = [p.grad.to_local() if p.grad is not None else torch.zeros_like(x) for p, x in zip(self.params, self.local)]
        self.grad_bytes = _distinct(grads)
        sq = torch.zeros((), dtype=torch.float64)
        for g in grads:
            sq += g.double().pow(2).sum()
        dist.all_reduce(sq, group=self.group)
        norm = sq.sqrt().item()
        if t['grad_clip'] > 0 and norm > t['grad_clip']:
            for g in grads:
                g.mul_(t['grad_clip'] / (norm + 1e-6))
        self.step_count += 1
        b1, b2, eps = t['beta1'], t['beta2'], 1e-8
        bc1, bc2 = 1 - b1 ** self.step_count, 1 - b2 ** self.step_count
        for p, x, g, m, v in zip(self.params, self.local, grads, self.exp_avg, self.exp_avg_sq):
            if t['weight_decay'] > 0 and p.dim() >= 2:
                x.mul_(1 - lr * t['weight_decay'])
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v / bc2).sqrt_().add_(eps)
            x.addcdiv_(m, denom, value=-lr / bc1)
        for p in self.params:
            p.grad = None
        return norm

    def resident(self):
        return _distinct(self.local + self.exp_avg + self.exp_avg_sq)

    def memory_terms(self):
        """The accounting's state terms, counted as ZeroAdamW counts ZeRO-3's: grads = the sharded
        fp32 gradients + the largest unit's unsharded gradients with its reduce-scatter input,
        comm_buffers = the most gathered bytes alive at once. FSDP2 reports neither transient
        itself: they come from FsdpTracker (bytes of this rank since the case started)."""
        tr = TRACKER
        return {'weights': _distinct(self.local), 'grads': self.grad_bytes + tr.max_unit_grad if self.grad_bytes else 0,
                'optimizer': _distinct(self.exp_avg + self.exp_avg_sq), 'comm_buffers': tr.max_held}


class AccountingView:
    """The model as spindle.accounting sees it, with FSDP2's sharded parameters (DTensors, whose
    storage the census cannot read: see `accounting_probe`) shown as their local shards; unsharded
    parameters, which FSDP2 registers on a module while it is gathered, are plain tensors."""

    def __init__(self, model):
        self._model = model

    def __getattr__(self, name):
        return getattr(self._model, name)

    def parameters(self):
        from torch.distributed.tensor import DTensor
        with torch.no_grad():
            return [p.to_local() if isinstance(p, DTensor) else p for p in self._model.parameters()]


def accounting_probe(model, opt, cfg):
    """Does the runtime's accounting open on the FSDP2 model as it is? (An empty measured window;
    run last, since a census that fails to open leaves its module hooks registered.)"""
    from spindle.accounting import Accountant
    try:
        with Accountant(model, opt, cfg, torch.device('cpu')).measure(True):
            pass
        return None
    except Exception as e:
        return _error(e)


# ---------------------------------------------------------------------------------------------
# shared

def _distinct(tensors):
    from spindle.accounting.storage import distinct_bytes
    return distinct_bytes([t for t in tensors if t is not None])


def ours_resident(opt):
    ts = [opt.master, opt.exp_avg, opt.exp_avg_sq, opt.grad_acc, getattr(opt, '_g_host', None)]
    ts.append(opt.local if opt.stage == 3 else opt.flat)
    return _distinct(ts)


class Run:
    """What Trainer.micro_batches reads (cfg, data, mesh), plus the step's pieces."""
    from spindle.train.loop import Trainer
    micro_batches = Trainer.micro_batches

    def __init__(self, cfg, data, mesh, forward, opt, world):
        self.cfg, self.data, self.mesh, self.forward, self.opt, self.world = cfg, data, mesh, forward, opt, world


def train_step(run, step):
    """Trainer.train_step's arithmetic (global label count, token-weighted loss sum per micro-step,
    the optimizer step, one all-reduce of the loss), with the forward pluggable."""
    from spindle.optim.schedule import lr_at
    from spindle.parallel.layout import attn_context
    variant = run.cfg['parallel']['ring_variant']
    local = []
    for b in run.micro_batches(step):
        ctx, idx = attn_context(b.doc, run.mesh, variant, 1)
        local.append((ctx, idx, b))
    count = torch.tensor([float(sum(b.weights[:, idx].sum() for _, idx, b in local))], dtype=torch.float64)
    dist.all_reduce(count)
    denom = max(count.item(), 1.0)
    total = torch.zeros((), dtype=torch.float64)
    for ctx, idx, b in local:
        s = run.forward(b.tokens[:, idx], b.positions[:, idx], ctx, b.labels[:, idx], b.weights[:, idx])
        (s / denom).backward()
        run.opt.after_micro_step()
        total += s.detach().double()
    lr = lr_at(step, run.cfg['training'])
    norm = run.opt.step(lr)
    dist.all_reduce(total)
    return total.item() / denom, norm


def case_config(base, layout, opts, seq_len, steps):
    from spindle.config import validate
    cfg = copy.deepcopy(base)
    cfg['training'].update(seq_len=seq_len, steps=steps, warmup_steps=1, checkpoint_every=0,
                           precision=opts.get('precision', 'fp32'))
    cfg['parallel'].update(ulysses=layout['ulysses'], ring=layout['ring'], ring_variant='zigzag',
                           zero=opts.get('zero', 3), checkpointing=opts.get('checkpointing', 'none'), chunks=1)
    cfg['cluster'].update(nodes=1, gpus_per_node=WORLD)
    return validate(cfg)


def run_case(rank, world, cfg, impl, opts):
    from spindle.accounting import Accountant
    from spindle.accounting.alloc import CpuTrace
    from spindle.data.loader import DataStream
    from spindle.data.sources import load_documents
    from spindle.data.tokenizer import load_tokenizer
    from spindle.model import Llama, ModelArgs
    from spindle.optim.zero import ZeroAdamW
    from spindle.parallel.mesh import build_mesh
    from spindle.parallel.parallelize import parallelize
    from spindle.train.loss import head_loss_fn

    t, p = cfg['training'], cfg['parallel']
    cpu = torch.device('cpu')
    mesh = build_mesh(world, rank, p['ulysses'], p['ring'])
    args = ModelArgs.from_config(cfg['model']['architecture'])
    tok = load_tokenizer(cfg['data']['tokenizer'], args.vocab)
    data = DataStream(load_documents(cfg['data'], t['task'], tok), t['seq_len'], t['seed'], cfg['data']['pack'], tok.pad)
    torch.manual_seed(t['seed'])
    model = Llama(args)
    loss_fn = head_loss_fn(t['loss'], t['loss_chunk_tokens'])
    if impl == 'ours':
        if t['precision'] == 'bf16':
            model = model.to(dtype=torch.bfloat16)
        model = parallelize(model, mesh, p['ring_variant'], p['checkpointing'], device=cpu, chunks=1)
        opt = ZeroAdamW(model, p['zero'], t, mesh.world_group, world, rank)

        def forward(tokens, pos, ctx, labels, weights):
            return model.head_loss(model.trunk(tokens, pos, ctx), labels, weights, loss_fn)
        resident = lambda: ours_resident(opt)  # noqa: E731
    else:
        if t['precision'] == 'bf16':
            # The runtime's bf16 mode rounds the fp32 init to bf16 and its fp32 master starts from
            # that; FSDP2's fp32 shards start from the same values.
            model = model.to(dtype=torch.bfloat16).float()
        model = parallelize(model, mesh, p['ring_variant'], p['checkpointing'], device=cpu, chunks=1)
        TRACKER.reset()
        forward = shard_fsdp2(model, loss_fn, opts)
        opt = FsdpAdamW(model, t, mesh.world_group)
        resident = opt.resident
        fsdp_model, model = model, AccountingView(model)

    run = Run(cfg, data, mesh, forward, opt, world)
    out = {'losses': [], 'grad_norms': [], 'step_s': []}
    accountant = Accountant(model, opt, cfg, cpu)
    traced = (2, 3, 4)
    out['traces'] = []
    for step in range(1, t['steps'] + 1):
        res0 = resident()
        trace = CpuTrace() if step in traced else None
        dist.barrier()
        t0 = time.perf_counter()
        if step == 1:
            with accountant.measure(True):
                loss, norm = train_step(run, step)
        elif trace is not None:
            with trace:
                loss, norm = train_step(run, step)
        else:
            loss, norm = train_step(run, step)
        dt = time.perf_counter() - t0
        out['losses'].append(loss)
        out['grad_norms'].append(norm)
        out['step_s'].append(dt)
        w = trace.windows() if trace is not None else None
        if w:
            out['traces'].append({'step': step, 'resident_at_start': res0, 'peak_above_start': w['step'][1],
                                  'live_at_end': trace.marks[-1][1], 'peak_allocated': res0 + w['step'][1]})
    if out['traces']:
        # A free the trace does not see (gloo's worker thread) only raises the curve: the lowest
        # traced peak is the tightest bound.
        best = min(out['traces'], key=lambda x: x['peak_allocated'])
        out['trace'] = {**best, 'peak_allocated_max': max(x['peak_allocated'] for x in out['traces'])}
    timed = out['step_s'][max(traced):]  # after warm-up and the traced steps
    out['resident_between_steps'] = resident()
    out['median_step_s'] = statistics.median(timed) if timed else None
    out['min_step_s'] = min(timed) if timed else None
    rep = accountant.report()
    if rep is not None:
        out['accounting'] = {'phase': rep['phase'], 'terms': rep['phases'][rep['phase']], 'phases': rep['phases'],
                             'peaks': rep['peaks'], 'saved': rep['saved']}
    if impl == 'fsdp2':
        out['fsdp2_stats'] = TRACKER.report()
    if impl == 'fsdp2':  # last: a census that fails to open leaves its module hooks behind
        out['accounting_probe'] = accounting_probe(fsdp_model, opt, cfg)
    if impl == 'ours' and p['zero'] == 3:
        out['zero3_stats'] = {'max_gathered': opt.stats.max_gathered, 'max_unit_grad': opt.stats.max_grad}
    return out


def _error(e):
    tb = traceback.extract_tb(e.__traceback__)
    frames = [f'{os.path.relpath(f.filename, REPO) if f.filename.startswith(REPO) else f.filename.split("site-packages/")[-1]}'
              f':{f.lineno} {f.name}' for f in tb[-4:]]
    return {'error': f'{type(e).__name__}: {e}'.strip()[:2000], 'frames': frames}


def gloo_collectives():
    """The collectives FSDP2 calls, on this torch's gloo, in fp32 and bf16 (a collective)."""
    out = {}
    w, r = dist.get_world_size(), dist.get_rank()
    for dt in (torch.float32, torch.bfloat16):
        name = str(dt).replace('torch.', '')
        for op in ('SUM', 'AVG'):
            try:
                res = torch.empty(2, dtype=dt)
                dist.reduce_scatter_tensor(res, torch.full((2 * w,), float(r + 1), dtype=dt), op=getattr(dist.ReduceOp, op))
                want = sum(range(1, w + 1)) / (w if op == 'AVG' else 1)
                out[f'reduce_scatter_tensor {op} {name}'] = 'ok' if torch.allclose(res.float(), torch.full((2,), want)) else 'wrong'
            except Exception as e:
                out[f'reduce_scatter_tensor {op} {name}'] = f'{type(e).__name__}: {e}'[:300]
        try:
            res = torch.empty(2 * w, dtype=dt)
            dist.all_gather_into_tensor(res, torch.full((2,), float(r), dtype=dt))
            out[f'all_gather_into_tensor {name}'] = 'ok' if res[::2].tolist() == list(range(w)) else 'wrong'
        except Exception as e:
            out[f'all_gather_into_tensor {name}'] = f'{type(e).__name__}: {e}'[:300]
    return out


def _worker(rank, world, port, plan, out_path):
    torch.set_num_threads(1)  # 2 cores shared by 4 ranks: oversubscription only slows
    import warnings
    warnings.filterwarnings('ignore')
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=90))
    TRACKER.install()
    results = [{'name': 'gloo_collectives', 'result': gloo_collectives()}]
    try:
        for case in plan:
            t0 = time.time()
            try:
                r = run_case(rank, world, case['config'], case['impl'], case['opts'])
            except Exception as e:  # recorded, the run goes on (failures here are the same on every rank)
                r = _error(e)
            r['wall_s'] = time.time() - t0
            everyone = [None] * world
            dist.all_gather_object(everyone, r)
            if rank == 0:
                results.append({k: case[k] for k in ('layout', 'name', 'impl', 'opts')} | {'ranks': everyone})
                print(f"  {case['layout']:6s} {case['name']:20s} {r.get('error', 'ok')[:100]} ({r['wall_s']:.1f} s)", flush=True)
    finally:
        if rank == 0:
            with open(out_path, 'w') as f:
                json.dump(results, f)
        dist.destroy_process_group()


# ---------------------------------------------------------------------------------------------
# report

def machine():
    cpu = platform.processor()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next((ln.split(':', 1)[1].strip() for ln in f if ln.startswith('model name')), cpu)
    except OSError:
        pass
    import subprocess
    try:
        commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=REPO, capture_output=True, text=True).stdout.strip()
        dirty = bool(subprocess.run(['git', 'status', '--porcelain', 'native/spindle'], cwd=REPO, capture_output=True,
                                    text=True).stdout.strip())
    except OSError:
        commit, dirty = None, None
    return {'cpu': cpu, 'cores': os.cpu_count(), 'host': socket.gethostname(), 'os': f'{platform.system()} {platform.release()}',
            'python': platform.python_version(), 'torch': torch.__version__, 'date': datetime.date.today().isoformat(),
            'commit': commit, 'native_spindle_modified': dirty}


def summarize(results):
    """One row per case: largest figure over the ranks; loss agreement with the reference case."""
    ref = {}
    for r in results:
        if 'error' not in r['ranks'][0]:
            ref[(r['layout'], r['name'])] = r['ranks'][0]['losses']
    rows = []
    for r in results:
        ranks = r['ranks']
        row = {'layout': r['layout'], 'case': r['name']}
        if 'error' in ranks[0]:
            row['error'] = ranks[0]['error']
            row['frames'] = ranks[0]['frames']
            rows.append(row)
            continue
        prec = r['opts'].get('precision', 'fp32')
        base = ref.get((r['layout'], REFERENCE[prec]))
        losses = ranks[0]['losses']
        row['losses'] = losses
        row['grad_norms'] = ranks[0]['grad_norms']
        if base is not None:
            row['loss_vs'] = REFERENCE[prec]
            row['max_rel_loss_diff'] = max(abs(a - b) / abs(b) for a, b in zip(losses, base))
        row['median_step_s'] = max(x['median_step_s'] for x in ranks)
        row['min_step_s'] = max(x['min_step_s'] for x in ranks)
        row['resident_bytes'] = max(x['resident_between_steps'] for x in ranks)
        if all('trace' in x for x in ranks):
            row['peak_allocated'] = max(x['trace']['peak_allocated'] for x in ranks)
            row['peak_allocated_max'] = max(x['trace']['peak_allocated_max'] for x in ranks)
            row['live_at_step_end'] = max(x['trace']['live_at_end'] for x in ranks)
        acc = [x.get('accounting') for x in ranks]
        if all(acc):
            terms = {}
            for a in acc:
                for k, v in a['terms'].items():
                    terms[k] = max(terms.get(k, 0), v)
            row['terms'] = terms
            row['phase'] = sorted({a['phase'] for a in acc})
            row['loss_logits'] = max(a['phases']['loss'].get('logits', 0) for a in acc)
            if all(a['peaks'] for a in acc):
                row['accounted_step1_peak'] = max(a['peaks']['step'] for a in acc)
        if ranks[0].get('accounting_probe'):
            row['accounting_probe'] = ranks[0]['accounting_probe']
        for key in ('zero3_stats', 'fsdp2_stats'):
            if key in ranks[0]:
                row[key] = {k: max(x[key][k] for x in ranks) for k in ranks[0][key]}
        rows.append(row)
    return rows


def kib(n):
    return '-' if n is None else f'{n / 1024:,.0f}'


def print_table(rows):
    cols = ['weights', 'grads', 'optim', 'activ', 'logits', 'comm', 'resident', 'peak', 'peak max', 'end+',
            'med ms', 'min ms', 'loss rel diff']
    print(f"{'layout':<6s} {'case':<20s} " + ' '.join(f'{c:>9s}' for c in cols[:-1]) + f" {cols[-1]}")
    for r in rows:
        head = f"{r['layout']:<6s} {r['case']:<20s}"
        if 'error' in r:
            print(head + ' FAILED: ' + r['error'].splitlines()[0][:150])
            continue
        t = r.get('terms', {})
        vals = [kib(t.get('weights')), kib(t.get('grads')), kib(t.get('optimizer')), kib(t.get('activations')),
                kib(r.get('loss_logits')), kib(t.get('comm_buffers')), kib(r['resident_bytes']), kib(r.get('peak_allocated')),
                kib(r.get('peak_allocated_max')), kib(r.get('live_at_step_end')), f"{r['median_step_s'] * 1e3:.0f}",
                f"{r['min_step_s'] * 1e3:.0f}"]
        diff = ('(reference)' if r.get('loss_vs') == r['case'] else
                f"{r['max_rel_loss_diff']:.1e} vs {r['loss_vs']}" if 'max_rel_loss_diff' in r else '-')
        print(head + ' ' + ' '.join(f'{v:>9s}' for v in vals) + ' ' + diff)
    print('KiB per rank, largest rank. weights..comm: the accounting of step 1 (planner terms at its peak moment; '
          'logits at the loss moment); resident: between steps; peak / peak max: lowest / highest allocated peak of '
          'steps 2-4 (resident at the start + the runtime\'s CpuTrace); end+: allocated in the lowest one and not seen '
          'freed; med / min ms: steps 5..N (untraced), slowest rank.')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', help='result JSON (default native/bench/results/fsdp2-<machine>-<date>.json)')
    ap.add_argument('--steps', type=int, default=8)
    ap.add_argument('--seq-len', type=int, default=256)
    ap.add_argument('--only', help='comma-separated case names')
    a = ap.parse_args()
    with open(os.path.join(REPO, 'resources', 'fixtures', 'configs', 'tiny-cpu.json')) as f:
        base = json.load(f)
    plan = []
    for lname, layout in LAYOUTS:
        for name, impl, opts in CASES:
            if a.only and name not in a.only.split(','):
                continue
            plan.append({'layout': lname, 'name': name, 'impl': impl, 'opts': opts,
                         'config': case_config(base, layout, opts, a.seq_len, a.steps)})
    tmp = os.path.join(os.environ.get('TMPDIR', '/tmp'), f'fsdp2-bench-{os.getpid()}.json')
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    t0 = time.time()
    print(f'{len(plan)} cases on {WORLD} gloo processes, seq_len {a.seq_len}, {a.steps} steps each', flush=True)
    mp.spawn(_worker, args=(WORLD, port, plan, tmp), nprocs=WORLD, join=True)
    with open(tmp) as f:
        results = json.load(f)
    os.remove(tmp)
    gloo = results.pop(0)['result']
    print('gloo: ' + ', '.join(f'{k} {v}' for k, v in gloo.items()))
    rows = summarize(results)
    print_table(rows)
    m = machine()
    doc = {'machine': m, 'world': WORLD, 'seq_len': a.seq_len, 'steps': a.steps, 'wall_s': round(time.time() - t0, 1),
           'architecture': base['model']['architecture'], 'layouts': dict(LAYOUTS),
           'note': 'bytes per rank, largest over the 4 ranks; peak_allocated = the lowest over steps 2-4 of (resident '
                   'at the step\'s start + the runtime CpuTrace\'s peak inside it); CpuTrace sees the calling thread '
                   'only, so a free on gloo\'s worker thread is missed and can only raise the figure; peak_allocated_max '
                   'the highest of the three; live_at_step_end = what the lowest trace saw allocated and not freed by the '
                   'end of its step; median/min_step_s over steps 5..N (untraced)',
           'gloo_collectives': gloo, 'rows': rows, 'raw': results}
    out = a.out
    if out is None:
        slug = ''.join(c if c.isalnum() else '-' for c in m['cpu'].lower()).strip('-')
        while '--' in slug:
            slug = slug.replace('--', '-')
        out = os.path.join(HERE, 'results', f"fsdp2-{slug}-{m['cores']}c-torch{torch.__version__.split('+')[0]}-{m['date']}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(doc, f, indent=1)
    print(f'wrote {os.path.relpath(out)} ({doc["wall_s"]} s)')


if __name__ == '__main__':
    main()
