"""Tokenizers, sources and packing: the same token stream for every layout given a seed."""
