"""Data: corpus location and size, byte tokenizer, packing with per-document masks and
positions, SFT prompt masking, and an order that depends only on (seed, sequence index)."""
import json
import os

import pytest
import torch

from dist_util import FIXTURES, REPO
from spindle.data.loader import DataStream, sequence_index
from spindle.data.sources import corpus_path, load_documents
from spindle.data.tokenizer import ByteTokenizer, load_tokenizer

TOK = ByteTokenizer()


def test_corpus_is_found_next_to_the_package_and_sized():
    p = os.path.realpath(corpus_path())
    assert p == os.path.realpath(os.path.join(REPO, 'resources', 'corpus', 'sample.txt'))
    assert 200_000 <= os.path.getsize(p) <= 1_000_000


def test_corpus_env_override(tmp_path, monkeypatch):
    f = tmp_path / 'c.txt'
    f.write_text('one doc\n\nanother doc\n')
    monkeypatch.setenv('SPINDLE_CORPUS', str(f))
    docs = load_documents({'source': 'sample'}, 'pretrain', TOK)
    assert [TOK.decode(d[0]) for d in docs] == ['one doc', 'another doc']


def test_byte_tokenizer_and_vocab_check():
    assert TOK.encode('hé').tolist() == [104, 195, 169] and TOK.vocab_size == 260
    with pytest.raises(ValueError, match='vocab 200 is smaller'):
        load_tokenizer('byte', 200)
    with pytest.raises(ValueError, match="data.tokenizer '/nonexistent/tokenizer': not found"):
        load_tokenizer('/nonexistent/tokenizer', 1000)


def test_a_directory_without_a_tokenizer_names_itself(tmp_path):
    with pytest.raises(ValueError, match=f"data.tokenizer '{tmp_path}': no tokenizer there"):
        load_tokenizer(str(tmp_path), 1000)


def _stream(docs, L=16, seed=0, pack=True):
    return DataStream(docs, L, seed, pack, TOK.PAD)


def test_packing_masks_cross_document_labels_and_restarts_positions():
    docs = load_documents({'source': 'sample'}, 'pretrain', TOK)
    s = _stream(docs, L=256)
    b = s.batch(0, 12)
    assert max(b.doc[r].unique().numel() for r in range(12)) > 2  # several documents per sequence
    for row in range(12):
        doc, pos, w, tok, lab = b.doc[row], b.positions[row], b.weights[row], b.tokens[row], b.labels[row]
        starts = torch.nonzero(doc[1:] != doc[:-1]).view(-1) + 1
        for st in starts.tolist():
            assert pos[st] == 0 and w[st - 1] == 0  # no label crosses into the next document
            assert tok[st] == TOK.BOS and lab[st - 1] == TOK.BOS
    # Consecutive windows continue the same stream (label of the last position = next first token).
    assert s.batch(3, 1).labels[0, -1] == s.batch(4, 1).tokens[0, 0]


def test_same_sequences_whatever_the_layout():
    docs = load_documents({'source': 'sample'}, 'pretrain', TOK)
    s = _stream(docs, L=32, seed=5)
    # dp=2, micro_batch 1, grad_accum 2 and dp=1, micro_batch 2, grad_accum 2 read the same stream.
    a = [sequence_index(1, m, d, 0, 2, 2, 1) for m in range(2) for d in range(2)]
    b = [sequence_index(1, m, 0, r, 2, 1, 2) for m in range(2) for r in range(2)]
    assert sorted(a) == sorted(b) == [4, 5, 6, 7]
    assert torch.equal(_stream(docs, L=32, seed=5).batch(6, 1).tokens, s.batch(6, 1).tokens)
    assert not torch.equal(_stream(docs, L=32, seed=6).batch(6, 1).tokens, s.batch(6, 1).tokens)


def test_epochs_wrap_and_reshuffle():
    docs = [(TOK.encode(f'doc{i}'), torch.ones(4, dtype=torch.bool).numpy()) for i in range(3)]
    s = _stream(docs, L=5)
    seqs = [s.sequence(k)[0] for k in range(6)]  # 3 epochs of 12 tokens in 30 + 1 tokens
    assert all(len(x) == 5 for x in seqs)


def test_sft_masks_prompts(tmp_path):
    path = os.path.join(FIXTURES, 'configs', 'sft.jsonl')
    docs = load_documents({'source': 'jsonl', 'path': path}, 'sft', TOK)
    with open(path) as f:
        first = json.loads(f.readline())
    ids, tgt = docs[0]
    text_all = TOK.decode(ids)
    text_tgt = TOK.decode(ids[tgt])
    answer = first['messages'][-1]['content']
    assert answer in text_tgt and first['messages'][1]['content'] not in text_tgt and first['messages'][1]['content'] in text_all
    # Unpacked: one record per row, padding never counts.
    s = _stream(docs, L=128, pack=False)
    b = s.batch(0, 2)
    assert b.weights.sum() > 0 and (b.weights[b.labels == TOK.PAD] == 0).all()
    bad = tmp_path / 'bad.jsonl'
    bad.write_text('{"question": 1}\n')
    with pytest.raises(ValueError, match=r'bad.jsonl:1: expected'):
        load_documents({'source': 'jsonl', 'path': str(bad)}, 'sft', TOK)


def test_pretrain_jsonl_counts_every_token(tmp_path):
    f = tmp_path / 'p.jsonl'
    f.write_text('{"prompt": "a", "response": "b"}\n{"text": "plain"}\n')
    docs = load_documents({'source': 'jsonl', 'path': str(f)}, 'pretrain', TOK)
    assert all(t[1:].all() for _, t in docs)
