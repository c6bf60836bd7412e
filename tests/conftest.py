"""Shared pytest set-up: JAX's persistent compilation cache for the suite and the apps it starts
(`.pytest_cache/softq-jax`, safe to delete), float64 for identity tests (switched on per test,
off afterwards), and a digest of a directory tree (to show that files were left untouched)."""

import hashlib
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


def _tree_digest(directory) -> str:
  h = hashlib.sha256()
  for base, dirs, files in sorted(os.walk(directory)):
    dirs.sort()
    for name in sorted(files):
      path = os.path.join(base, name)
      h.update(os.path.relpath(path, directory).encode())
      with open(path, "rb") as f:
        h.update(f.read())
  return h.hexdigest()


@pytest.fixture(scope="session")
def tree_digest():
  """`tree_digest(directory)`: SHA-256 over every file's relative path and bytes, in order."""
  return _tree_digest
