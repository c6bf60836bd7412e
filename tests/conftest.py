"""Shared pytest fixtures: float64 for identity tests (switched on per test, off afterwards)."""

import jax
import pytest


@pytest.fixture
def x64():
  """Runs the test body with 64-bit floats enabled (identities are checked in float64)."""
  with jax.enable_x64(True):
    yield
