"""Llama-family model code. It knows nothing about parallelism: the attention op it calls is
replaced from outside (spindle.parallel.parallelize)."""
from .llama import Llama, ModelArgs  # noqa: F401
