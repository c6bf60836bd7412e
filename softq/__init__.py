"""softq: maximum-entropy reinforcement learning in JAX; § numbers cite docs/algorithms.md."""

__version__ = "0.1.0"
