"""Documents from the configured source, as (token ids, target flags) pairs.

A target flag says whether the token is to be predicted (counts in the loss). Pretraining text
counts everywhere; SFT counts only response tokens (and the closing end-of-text).
Plain text: documents are separated by blank lines. JSONL: one record a line, either
{"prompt", "response"} or {"messages": [{"role", "content"}, ...]} (assistant turns are the
responses), or {"text"} for plain documents.
"""
import json
import os
import re

import numpy as np

import spindle


def corpus_path():
    env = os.environ.get('SPINDLE_CORPUS')
    if env:
        return env
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(spindle.__file__)))
    return os.path.join(pkg_parent, '..', 'resources', 'corpus', 'sample.txt')


def _read(path, what):
    try:
        with open(os.path.expanduser(path), encoding='utf-8') as f:
            return f.read()
    except FileNotFoundError:
        raise ValueError(f'{what}: file not found: {path}') from None


def _doc(tok, pieces):
    """pieces: [(text, is_target)] -> BOS + pieces + EOS; EOS counts if the last piece does."""
    ids, tgt = [np.array([tok.bos], dtype=np.int64)] if tok.bos is not None else [], []
    if ids:
        tgt.append(np.zeros(1, dtype=bool))
    for text, is_t in pieces:
        e = tok.encode(text)
        ids.append(e)
        tgt.append(np.full(len(e), is_t, dtype=bool))
    ids.append(np.array([tok.eos], dtype=np.int64))
    tgt.append(np.array([pieces[-1][1] if pieces else True]))
    return np.concatenate(ids), np.concatenate(tgt)


def text_documents(text, tok):
    return [_doc(tok, [(d.strip(), True)]) for d in re.split(r'\n\s*\n', text) if d.strip()]


def _record_pieces(rec, sft, where):
    if 'prompt' in rec and 'response' in rec:
        return [(str(rec['prompt']) + '\n', not sft), (str(rec['response']), True)]
    if 'messages' in rec:
        pieces = []
        for m in rec['messages']:
            role, content = m.get('role'), m.get('content')
            if role is None or content is None:
                raise ValueError(f'{where}: every message needs "role" and "content"')
            is_resp = role == 'assistant'
            pieces.append((f'{role}: ', not sft))
            pieces.append((f'{content}\n', is_resp or not sft))
        if sft and not any(t for _, t in pieces):
            raise ValueError(f'{where}: no assistant message to train on')
        return pieces
    if 'text' in rec and not sft:
        return [(str(rec['text']), True)]
    raise ValueError(f'{where}: expected {{"prompt","response"}} or {{"messages"}}' + ('' if sft else ' or {"text"}'))


def jsonl_documents(text, tok, sft, path):
    docs = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f'{path}:{n}: not JSON: {e}') from None
        docs.append(_doc(tok, _record_pieces(rec, sft, f'{path}:{n}')))
    return docs


def load_documents(data_cfg, task, tok):
    sft = task == 'sft'
    src = data_cfg['source']
    if src == 'sample':
        docs = text_documents(_read(corpus_path(), 'sample corpus (set SPINDLE_CORPUS)'), tok)
    elif src == 'text':
        docs = text_documents(_read(data_cfg['path'], 'data.path'), tok)
    else:
        docs = jsonl_documents(_read(data_cfg['path'], 'data.path'), tok, sft, data_cfg['path'])
    if not docs:
        raise ValueError(f'data.source {src}: no documents found')
    return docs
