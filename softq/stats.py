"""Small statistics of experiment results (NumPy only): confidence intervals of proportions."""

import numpy as np


def wilson_interval(fraction, trials: int, z: float = 1.96):
  """Wilson score interval of a proportion (95 % at the default `z`).

  Args:
    fraction: observed success fraction(s) in `[0, 1]`, any shape.
    trials: the number of trials `n >= 1` behind each fraction.
    z: the normal quantile of the coverage.
  Returns:
    `(low, high)`, arrays of `fraction`'s shape, inside `[0, 1]`; e.g. 8 of 10 gives
    `(0.490, 0.943)`.
  """
  if trials < 1:
    raise ValueError(f"trials must be >= 1, got {trials}")
  p = np.asarray(fraction, dtype=float)
  centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
  half = z * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
  return centre - half, centre + half
