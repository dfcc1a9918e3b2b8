"""Deterministic batches: sequence k of the run is a pure function of (documents, seed, k), so
every layout (and a resumed run) sees the same data in the same order.

Global sequence index for (step, micro-step m, dp rank d, row b):
    k = ((step * grad_accum + m) * dp + d) * micro_batch + b
Packed: documents are shuffled per epoch (seed, epoch) and concatenated into one stream;
sequence k is the window [k*L, k*L + L + 1) (inputs = first L, labels = last L). A document cut
by a window edge restarts its positions at 0 in the next window. Unpacked: sequence k is document
k of the shuffled order, truncated or padded. Labels across a document boundary never count.
"""
from dataclasses import dataclass

import numpy as np
import torch

from .packing import doc_positions


@dataclass
class Batch:
    tokens: torch.Tensor   # [B, L] inputs
    labels: torch.Tensor   # [B, L] next tokens
    weights: torch.Tensor  # [B, L] 1.0 where the label counts
    doc: torch.Tensor      # [B, L] document id within the row
    positions: torch.Tensor  # [B, L] RoPE position within the document


class DataStream:
    def __init__(self, docs, seq_len, seed, pack, pad_id):
        self.docs, self.L, self.seed, self.pack, self.pad = docs, seq_len, seed, pack, pad_id
        self.lens = np.array([len(d[0]) for d in docs], dtype=np.int64)
        self.epoch_tokens = int(self.lens.sum())
        self._cache = {}

    def _order(self, epoch):
        g = np.random.default_rng([self.seed, epoch])
        return g.permutation(len(self.docs))

    def _epoch(self, epoch):
        """(ids, target, start) arrays of one epoch's stream; two epochs kept in memory."""
        if epoch not in self._cache:
            order = self._order(epoch)
            ids = np.concatenate([self.docs[i][0] for i in order])
            tgt = np.concatenate([self.docs[i][1] for i in order])
            start = np.zeros(len(ids), dtype=bool)
            start[np.concatenate([[0], np.cumsum(self.lens[order])[:-1]])] = True
            if len(self._cache) >= 2:
                self._cache.pop(min(self._cache))
            self._cache[epoch] = (ids, tgt, start)
        return self._cache[epoch]

    def _window(self, a, n):
        parts = []
        while n > 0:
            e, off = divmod(a, self.epoch_tokens)
            arrs = self._epoch(e)
            take = min(n, self.epoch_tokens - off)
            parts.append([x[off:off + take] for x in arrs])
            a, n = a + take, n - take
        return [np.concatenate([p[i] for p in parts]) for i in range(3)]

    def sequence(self, k):
        L = self.L
        if self.pack:
            ids, tgt, start = self._window(k * L, L + 1)
        else:
            e, j = divmod(k, len(self.docs))
            d_ids, d_tgt = self.docs[self._order(e)[j]]
            ids = np.full(L + 1, self.pad, dtype=np.int64)
            tgt = np.zeros(L + 1, dtype=bool)
            start = np.zeros(L + 1, dtype=bool)
            n = min(L + 1, len(d_ids))
            ids[:n], tgt[:n] = d_ids[:n], d_tgt[:n]
            start[0] = True
            if n < L + 1:
                start[n] = True  # padding is its own document, never counted
        start = start.copy()
        start[0] = True
        doc = np.cumsum(start) - 1
        weights = tgt[1:] & ~start[1:]  # label j lives at position j + 1: same document only
        return ids[:L], ids[1:], weights, doc[:L]

    def batch(self, first_index, rows):
        seqs = [self.sequence(first_index + b) for b in range(rows)]
        tokens, labels, weights, doc = (torch.from_numpy(np.stack([s[i] for s in seqs])) for i in range(4))
        doc = doc.long()
        return Batch(tokens.long(), labels.long(), weights.float(), doc, doc_positions(doc))


def sequence_index(step, micro, dp_rank, row, grad_accum, dp, micro_batch):
    return ((step * grad_accum + micro) * dp + dp_rank) * micro_batch + row
