"""Tokenizers: bytes (256 byte values + 4 specials = vocab 260), or a local Hugging Face
tokenizer when `tokenizers` or `transformers` is importable. Nothing is downloaded."""
import os

import numpy as np


class ByteTokenizer:
    name = 'byte'
    BOS, EOS, PAD, SEP = 256, 257, 258, 259
    vocab_size = 260

    def __init__(self):
        self.bos, self.eos, self.pad = self.BOS, self.EOS, self.PAD

    def encode(self, text):
        return np.frombuffer(text.encode('utf-8'), dtype=np.uint8).astype(np.int64)

    def decode(self, ids):
        return bytes(int(i) for i in ids if i < 256).decode('utf-8', errors='replace')


class HFTokenizer:
    """A tokenizer directory or tokenizer.json on the node. BOS/EOS come from the tokenizer's own
    special tokens; PAD falls back to EOS (pads never count in the loss)."""

    def __init__(self, path):
        self.name = path
        tok = None
        if not os.path.exists(path):  # local files only: never a hub id
            raise ValueError(f'data.tokenizer {path!r}: not found (a tokenizer directory or tokenizer.json, or "byte")')
        file = os.path.join(path, 'tokenizer.json') if os.path.isdir(path) else path
        try:
            from tokenizers import Tokenizer
            if os.path.isfile(file):
                tok = Tokenizer.from_file(file)
                self._encode = lambda s: tok.encode(s, add_special_tokens=False).ids
                self.vocab_size = tok.get_vocab_size()
                ids = lambda names: next((tok.token_to_id(n) for n in names if tok.token_to_id(n) is not None), None)
                self.bos = ids(['<|begin_of_text|>', '<s>', '<|endoftext|>', '<bos>'])
                self.eos = ids(['<|end_of_text|>', '</s>', '<|endoftext|>', '<|im_end|>', '<eos>'])
        except ImportError:
            pass
        if tok is None:
            try:
                from transformers import AutoTokenizer
            except ImportError:
                raise ValueError(f'data.tokenizer {path!r}: needs the `tokenizers` or `transformers` package '
                                 '(only "byte" works without them)') from None
            try:
                tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
            except (OSError, ValueError) as e:
                raise ValueError(f'data.tokenizer {path!r}: no tokenizer there ({e})') from None
            self._encode = lambda s: tok.encode(s, add_special_tokens=False)
            self.vocab_size = len(tok)
            self.bos, self.eos = tok.bos_token_id, tok.eos_token_id
        if self.eos is None:
            raise ValueError(f'data.tokenizer {path!r}: no end-of-text token found')
        self.pad = self.eos

    def encode(self, text):
        return np.asarray(self._encode(text), dtype=np.int64)


def load_tokenizer(spec, vocab):
    tok = ByteTokenizer() if spec == 'byte' else HFTokenizer(spec)
    if tok.vocab_size > vocab:
        raise ValueError(f'model.architecture.vocab {vocab} is smaller than the tokenizer\'s vocabulary '
                         f'({tok.vocab_size}, data.tokenizer {spec!r})')
    return tok
