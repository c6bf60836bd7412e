"""Shared pytest set-up: JAX's persistent compilation cache for the suite and the apps it starts
(`.pytest_cache/softq-jax`, safe to delete), and float64 for identity tests (switched on per
test, off afterwards)."""

import os

import jax
import pytest

CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                     ".pytest_cache", "softq-jax")
os.environ.setdefault("SOFTQ_COMPILATION_CACHE", CACHE)  # inherited by app subprocesses
jax.config.update("jax_compilation_cache_dir", os.environ["SOFTQ_COMPILATION_CACHE"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


@pytest.fixture
def x64():
  """Runs the test body with 64-bit floats enabled (identities are checked in float64)."""
  with jax.enable_x64(True):
    yield
