"""Known action energies for fitting policies without a critic: Gaussian mixtures on the box.

An energy `Q(a) = log sum_k W_k N(a; mu_k, S_k^2 I)` on the action box `[-1, 1]^d` defines the
Boltzmann target `p(a) ∝ exp(Q(a) / alpha)` restricted to the box, the policy a max-entropy
actor should reach when its critic is exact (§2.3, §3.5). This module parses such energies from
text (`mixture:W@X,Y~S;...` or a preset name), evaluates them, and gives the target's exact
entropy and per-component masses by midpoint quadrature, and the sample statistics a policy is
compared with (mass per component by nearest mean, binned total variation).
"""

import itertools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Mixture(NamedTuple):
  """Weights `[K]` (positive, not necessarily summing to 1), means `[K, d]`, stds `[K]`."""

  weights: np.ndarray
  means: np.ndarray
  stds: np.ndarray

  @property
  def dim(self) -> int:
    return self.means.shape[1]


PRESETS = {
    # One mode away from the centre of the box.
    "unimodal": "mixture:1@0.4,-0.3~0.3",
    # Two modes of unequal weight: a policy should put more mass on the heavier one.
    "two_unequal": "mixture:0.7@-0.5,0.3~0.2;0.3@0.5,-0.3~0.2",
    # The asymmetric multi-goal landscape seen from the origin (§4.2): one goal on the right,
    # two on the left; the two left modes together hold more mass than the right one.
    "three_goal": "mixture:1@0.7,0~0.2;0.8@-0.5,0.6~0.2;0.8@-0.5,-0.6~0.2",
    # A mode on the box edge: half of its Gaussian lies outside the box.
    "edge": "mixture:1@1,0~0.25",
}

SPEC_FORMAT = "mixture:W@X,Y~S;W@X,Y~S;... (weight > 0, one mean per coordinate, std > 0)"


def parse(spec: str) -> Mixture:
  """A `Mixture` from `mixture:W@X,Y~S;...` or a name in `PRESETS` (§3.11).

  Raises:
    ValueError: with one line naming the problem and the accepted forms.
  """
  text = PRESETS.get(spec, spec)
  accepted = f"accepted: {SPEC_FORMAT}, or one of {', '.join(PRESETS)}"
  if not text.startswith("mixture:"):
    raise ValueError(f"energy {spec!r} is not a mixture spec; {accepted}")
  weights, means, stds = [], [], []
  for part in text[len("mixture:"):].split(";"):
    try:
      weight, rest = part.split("@")
      mean, std = rest.split("~")
      weights.append(float(weight))
      means.append([float(x) for x in mean.split(",")])
      stds.append(float(std))
    except ValueError:
      raise ValueError(f"energy component {part!r} is not W@X,Y~S; {accepted}") from None
  if len({len(m) for m in means}) != 1:
    raise ValueError(f"energy {spec!r}: every component needs the same number of coordinates")
  values = np.array(weights + stds + sum(means, []))
  if not np.all(np.isfinite(values)) or min(weights) <= 0 or min(stds) <= 0:
    raise ValueError(f"energy {spec!r}: weights and stds must be finite and > 0, means finite")
  return Mixture(np.array(weights), np.array(means), np.array(stds))


def value(mixture: Mixture, actions: jax.Array) -> jax.Array:
  """`Q(a) = log sum_k W_k N(a; mu_k, S_k^2 I)`: `[..., d] -> [...]` (§3.11)."""
  means = jnp.asarray(mixture.means, actions.dtype)
  stds = jnp.asarray(mixture.stds, actions.dtype)
  d = mixture.dim
  sq = jnp.sum(jnp.square(actions[..., None, :] - means), axis=-1)
  log_normal = -0.5 * sq / stds**2 - d * jnp.log(stds) - 0.5 * d * math.log(2 * math.pi)
  return jax.nn.logsumexp(log_normal + jnp.log(jnp.asarray(mixture.weights, actions.dtype)),
                          axis=-1)


def nearest_component(mixture: Mixture, actions: np.ndarray) -> np.ndarray:
  """Index `[...]` of the component mean nearest to each action `[..., d]`."""
  sq = np.sum(np.square(np.asarray(actions)[..., None, :] - mixture.means), axis=-1)
  return np.argmin(sq, axis=-1)


class Target(NamedTuple):
  """`p ∝ exp(Q / alpha)` on a midpoint grid of the box: cell centres `[n^d, d]`, cell
  probabilities `[n^d]` (summing to 1), the cell volume, and `log Z` of `exp(Q / alpha)`."""

  points: np.ndarray
  probs: np.ndarray
  cell_volume: float
  log_normalizer: float


def boltzmann_target(mixture: Mixture, alpha: float, cells: int = 400) -> Target:
  """The box-restricted Boltzmann target `p ∝ exp(Q/alpha)` by midpoint quadrature in float64
  (§3.11).

  Args:
    cells: grid cells per coordinate (`cells^d` in all; d <= 3).
  """
  d = mixture.dim
  if d > 3:
    raise ValueError(f"quadrature on the box supports d <= 3, got d={d}")
  centres = -1.0 + (np.arange(cells) + 0.5) * (2.0 / cells)
  points = np.array(list(itertools.product(centres, repeat=d)))
  with jax.enable_x64(True):
    energy = np.asarray(value(mixture, jnp.asarray(points, jnp.float64))) / alpha
  cell_volume = (2.0 / cells) ** d
  shift = energy.max()
  unnormalized = np.exp(energy - shift)
  total = unnormalized.sum()
  log_normalizer = float(shift + math.log(total * cell_volume))
  return Target(points, unnormalized / total, cell_volume, log_normalizer)


def entropy(target: Target) -> float:
  """Differential entropy `-∫ p log p` of the target on the box (midpoint rule, §3.11)."""
  p = target.probs[target.probs > 0]
  density = p / target.cell_volume
  return float(-np.sum(p * np.log(density)))


def component_masses(mixture: Mixture, target: Target) -> np.ndarray:
  """Mass `[K]` of the target in each component's nearest-mean region (§3.11)."""
  owner = nearest_component(mixture, target.points)
  return np.bincount(owner, weights=target.probs, minlength=len(mixture.weights))


def component_fractions(mixture: Mixture, samples: np.ndarray) -> np.ndarray:
  """Fraction `[K]` of `samples [n, d]` nearest to each component mean (§3.11)."""
  owner = nearest_component(mixture, samples)
  return np.bincount(owner, minlength=len(mixture.weights)) / len(samples)


def binned_total_variation(target: Target, samples: np.ndarray, bins: int = 20) -> float:
  """`½ Σ |p_b - q_b|` over `bins^d` equal boxes, `q` the histogram of `samples [n, d]` (a
  sample-based divergence, §3.11; 0 for a perfect fit up to noise of order `sqrt(bins^d / n)`)."""
  d = target.points.shape[1]
  edges = [np.linspace(-1.0, 1.0, bins + 1)] * d
  p, _ = np.histogramdd(target.points, bins=edges, weights=target.probs)
  q, _ = np.histogramdd(np.clip(samples, -1.0, 1.0), bins=edges)
  return float(0.5 * np.abs(p - q / q.sum()).sum())
