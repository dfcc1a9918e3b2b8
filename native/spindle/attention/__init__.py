"""Attention: local kernels returning (out, lse), and the sequence-parallel wrappers around them."""
