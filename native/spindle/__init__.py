"""Spindle training runtime: Llama-family models with Ulysses / ring / hybrid sequence parallelism."""
__version__ = '0.1.0'
