"""softq.energies: mixture specs, the energy against scipy, the box-restricted Boltzmann target's
entropy against truncated normals (exact), component masses and the sample statistics."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from softq import energies


def test_parse_specs_presets_and_bad_input():
  mix = energies.parse("mixture:2@0.1,-0.2~0.3;1@0.5,0.5~0.1")
  np.testing.assert_array_equal(mix.weights, [2.0, 1.0])
  np.testing.assert_array_equal(mix.means, [[0.1, -0.2], [0.5, 0.5]])
  np.testing.assert_array_equal(mix.stds, [0.3, 0.1])
  assert mix.dim == 2
  for name in energies.PRESETS:
    assert energies.parse(name).dim == 2
  for bad, match in (("gauss:1@0~1", "not a mixture"), ("mixture:1@0,0", "W@X,Y~S"),
                     ("mixture:1@0,0~1;1@0~1", "same number"), ("mixture:0@0~1", "> 0"),
                     ("mixture:1@0~-1", "> 0"), ("mixture:1@nan~1", "finite")):
    with pytest.raises(ValueError, match=match):
      energies.parse(bad)


def test_value_is_the_mixture_log_density():
  mix = energies.parse("mixture:2@0.1,-0.2~0.3;1@0.5,0.5~0.1")
  a = np.array([[0.0, 0.0], [0.4, 0.6], [-1.0, 1.0]])
  direct = np.log(sum(w * stats.multivariate_normal(m, s**2 * np.eye(2)).pdf(a)
                      for w, m, s in zip(mix.weights, mix.means, mix.stds)))
  np.testing.assert_allclose(energies.value(mix, jnp.asarray(a)), direct, rtol=1e-5)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 3.0])
def test_target_entropy_equals_truncated_normals(alpha):
  """One component: `exp(Q/alpha)` on the box is a product of truncated normals with std
  `S sqrt(alpha)`, whose entropies add; midpoint quadrature matches to 1e-5."""
  mix = energies.parse("mixture:1@0.3,-0.8~0.4")
  target = energies.boltzmann_target(mix, alpha, cells=400)
  scale = 0.4 * math.sqrt(alpha)
  exact = sum(stats.truncnorm((-1 - m) / scale, (1 - m) / scale, loc=m, scale=scale).entropy()
              for m in (0.3, -0.8))
  np.testing.assert_allclose(energies.entropy(target), exact, atol=1e-5)
  np.testing.assert_allclose(target.probs.sum(), 1.0, atol=1e-12)
  # log Z of exp(Q/alpha) on the box, from the same truncated normals.
  log_mass = sum(np.log(stats.norm.cdf((1 - m) / scale) - stats.norm.cdf((-1 - m) / scale))
                 for m in (0.3, -0.8))
  exact_log_z = (log_mass + 2 * 0.5 * np.log(2 * np.pi * scale**2)
                 - (2 / alpha) * 0.5 * np.log(2 * np.pi * 0.4**2))
  np.testing.assert_allclose(target.log_normalizer, exact_log_z, atol=1e-5)


def test_component_masses_and_sample_statistics():
  mix = energies.parse("mixture:1@-0.5,0~0.2;1@0.5,0~0.2")
  target = energies.boltzmann_target(mix, 1.0, cells=200)
  np.testing.assert_allclose(energies.component_masses(mix, target), [0.5, 0.5], atol=1e-12)
  heavy = energies.parse("mixture:3@-0.5,0~0.2;1@0.5,0~0.2")
  masses = energies.component_masses(heavy, energies.boltzmann_target(heavy, 1.0, cells=400))
  # Nearest-mean regions split at a_1 = 0; each component's x-marginal is N(±0.5, 0.2²) on [-1, 1].
  phi = stats.norm.cdf
  inside = 0.75 * (phi(7.5) - phi(-2.5)) + 0.25 * (phi(2.5) - phi(-7.5))
  left = 0.75 * (phi(2.5) - phi(-2.5)) + 0.25 * (phi(-2.5) - phi(-7.5))
  np.testing.assert_allclose(masses[0], left / inside, atol=1e-5)  # midpoint rule, O(h^2)
  # Exact samples of the two-mode target fit it; samples of one mode do not.
  rng = np.random.default_rng(0)
  n = 40000
  centre = np.where(rng.random(n)[:, None] < 0.5, [-0.5, 0.0], [0.5, 0.0])
  samples = centre + 0.2 * rng.standard_normal((n, 2))
  samples = samples[np.all(np.abs(samples) <= 1, axis=1)]
  np.testing.assert_allclose(energies.component_fractions(mix, samples), [0.5, 0.5], atol=0.01)
  assert energies.binned_total_variation(target, samples) < 0.05
  one_mode = samples[samples[:, 0] > 0]
  np.testing.assert_allclose(energies.component_fractions(mix, one_mode), [0.0, 1.0])
  assert energies.binned_total_variation(target, one_mode) > 0.45
