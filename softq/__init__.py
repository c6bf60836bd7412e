"""softq: maximum-entropy reinforcement learning in JAX (see ../shared/spec/ALGORITHMS.md)."""

__version__ = "0.1.0"
