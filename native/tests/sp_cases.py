"""Shared by the SP equivalence tests: random packed inputs and the single-process reference."""
import copy

import torch
import torch.distributed as dist

from spindle.model import Llama, ModelArgs
from spindle.attention.meta import AttnContext
from spindle.data.packing import doc_positions
from spindle.parallel.layout import attn_context
from spindle.parallel.mesh import build_mesh
from spindle.parallel.parallelize import parallelize
from spindle.train.loss import loss_sum

ARGS = ModelArgs(layers=2, hidden=32, heads=8, kv_heads=2, head_dim=4, ffn=48, vocab=40, rope_theta=500.0)


def random_batch(seed, B, L, vocab):
    """Tokens, labels, weights and document ids with boundaries at random places (so documents
    cross every shard edge in some layouts), plus some unweighted (prompt-like) labels."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, vocab, (B, L), generator=g)
    labels = torch.randint(0, vocab, (B, L), generator=g)
    weights = (torch.rand(B, L, generator=g) > 0.2).float()
    starts = torch.rand(B, L, generator=g) < 0.12
    starts[:, 0] = True
    doc = torch.cumsum(starts.long(), dim=1) - 1
    return tokens, labels, weights, doc, doc_positions(doc)


def reference(model, batch):
    tokens, labels, weights, doc, pos = batch
    B, L = tokens.shape
    ctx = AttnContext.single(torch.arange(L).expand(B, L), doc)
    logits = model(tokens, pos, ctx)
    loss = loss_sum(logits, labels, weights) / weights.sum()
    loss.backward()
    return logits.detach(), loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


def close(a, b, what, rtol=1e-5):
    scale = b.abs().max().item()
    err = (a - b).abs().max().item()
    assert err <= rtol * max(scale, 1e-12), f'{what}: max abs err {err:.3g} vs scale {scale:.3g}'


def check_layout(rank, world, dp, ulysses, ring, variant, seed, base_model, args=ARGS, L=64, b=2, checkpointing='none'):
    """Run the SP model for one layout and compare logits and every gradient to the single-process
    model on the concatenation of all DP ranks' micro-batches."""
    mesh = build_mesh(world, rank, ulysses, ring)
    assert mesh.dp == dp
    full = random_batch(seed, b * dp, L, args.vocab)
    ref_model = copy.deepcopy(base_model)
    ref_logits, ref_loss, ref_grads = reference(ref_model, full)

    model = parallelize(copy.deepcopy(base_model), mesh, variant, checkpointing)
    sl = slice(mesh.dp_rank * b, (mesh.dp_rank + 1) * b)
    tokens, labels, weights, doc, pos = (t[sl] for t in full)
    ctx, idx = attn_context(doc, mesh, variant)
    logits = model(tokens[:, idx], pos[:, idx], ctx)
    total = full[2].sum()  # global weighted token count, known to every rank here
    loss = loss_sum(logits, labels[:, idx], weights[:, idx]) / total
    loss.backward()
    where = f'dp={dp} ulysses={ulysses} ring={ring} {variant}'
    close(logits.detach(), ref_logits[sl][:, idx], f'{where} logits')
    glob = loss.detach().clone()
    dist.all_reduce(glob)
    close(glob, ref_loss, f'{where} loss')
    for n, p in model.named_parameters():
        g = p.grad.clone()
        dist.all_reduce(g)  # SP ranks hold partial grads of replicated params; DP ranks other data
        close(g, ref_grads[n], f'{where} grad {n}')


def base(args=ARGS, seed=0):
    torch.manual_seed(seed)
    return Llama(args)
