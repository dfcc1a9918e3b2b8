"""Applying parallelism to a plain model from outside: mesh, sequence layout, parallelize."""
