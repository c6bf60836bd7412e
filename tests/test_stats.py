"""softq.stats: the Wilson score interval against values worked out by hand and its limits."""

import numpy as np
import pytest

from softq import stats


def test_wilson_interval_of_known_proportions():
  low, high = stats.wilson_interval(0.8, 10)  # centre 0.71675, half-width 0.22658 (by hand)
  np.testing.assert_allclose([low, high], [0.49016, 0.94333], atol=5e-5)
  low, high = stats.wilson_interval(np.array([0.0, 1.0]), 10)  # z^2 / (n + z^2) = 0.27754
  np.testing.assert_allclose(low, [0.0, 1 - 0.27754], atol=5e-5)
  np.testing.assert_allclose(high, [0.27754, 1.0], atol=5e-5)


def test_wilson_interval_approaches_the_normal_one_for_many_trials():
  low, high = stats.wilson_interval(0.3, 1_000_000)
  half = 1.96 * np.sqrt(0.3 * 0.7 / 1_000_000)
  np.testing.assert_allclose([low, high], [0.3 - half, 0.3 + half], rtol=1e-5)


def test_wilson_interval_needs_a_trial():
  with pytest.raises(ValueError, match="trials must be >= 1, got 0"):
    stats.wilson_interval(0.5, 0)
