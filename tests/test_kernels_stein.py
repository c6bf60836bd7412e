"""softq.kernels and softq.stein: bandwidths, kernel gradients, SVGD, amortized SVGD (§2.3–2.6)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from softq import kernels, losses, networks, stein


def test_rbf_kernel_and_bandwidths_match_numpy(x64):
  x = jax.random.normal(jax.random.key(0), (3, 9, 4), jnp.float64)
  xn = np.asarray(x)
  d2 = ((xn[:, :, None, :] - xn[:, None, :, :]) ** 2).sum(-1)
  h = np.array([0.5, 1.0, 2.0])
  np.testing.assert_allclose(kernels.rbf_kernel(x, x, h), np.exp(-d2 / h[:, None, None]),
                             rtol=1e-12)
  iu = np.triu_indices(9, 1)
  pairs = d2[:, iu[0], iu[1]]
  np.testing.assert_allclose(kernels.median_bandwidth(x), np.median(pairs, -1) / math.log(10),
                             rtol=1e-12)
  np.testing.assert_allclose(kernels.median_distance_bandwidth(x),
                             np.median(np.sqrt(pairs), -1) / (2 * math.log(10)), rtol=1e-12)
  np.testing.assert_allclose(kernels.mean_bandwidth(x), 2 * pairs.mean(-1) / (4 * math.log(10)),
                             rtol=1e-12)


@pytest.mark.parametrize("m", [2, 3, 4, 8, 33])
def test_median_bandwidth_equals_sorted_median(x64, m):
  x = jax.random.normal(jax.random.key(m), (5, m, 2), jnp.float64)
  x = x.at[0, 1].set(x[0, 0])  # ties and zero distances
  d2 = np.asarray(kernels.squared_distances(x, x))
  iu = np.triu_indices(m, 1)
  pairs = np.sort(d2[:, iu[0], iu[1]], -1)
  n = pairs.shape[-1]
  low, high = kernels._middle_of_pairs(jnp.asarray(d2))
  np.testing.assert_array_equal(low, pairs[:, (n - 1) // 2])  # the selection is exact
  np.testing.assert_array_equal(high, pairs[:, n // 2])
  expected = np.maximum(np.median(pairs, -1) / math.log(m + 1), 1e-3)
  np.testing.assert_allclose(kernels.median_bandwidth(x), expected, rtol=1e-14)


@pytest.mark.parametrize("x64_on", [False, True])
def test_radix_select_of_one_large_set_equals_sorted_pairs(x64_on):
  """m >= 65 takes radix select (3 passes in float32, 6 in float64): exact on ties, collapsed
  particles and all-equal sets, for an odd (m = 65) and an even (m = 66) pair count, one set at
  a time and under vmap (which batches it)."""
  dtype = jnp.float64 if x64_on else jnp.float32
  rng = np.random.default_rng(7)
  single = jax.jit(kernels._middle_of_pairs)
  batched = jax.jit(jax.vmap(kernels._middle_of_pairs))
  with jax.enable_x64(x64_on):
    for m in (65, 66):
      assert m * (m - 1) // 2 >= kernels.RADIX_MIN_PAIRS
      x = rng.normal(size=(m, 3))
      sets = np.stack([x, np.round(x), np.where(np.arange(m)[:, None] <= m // 2, 0.0, x),
                       np.ones((m, 3)), 1e-30 * x])
      x = jnp.asarray(sets, dtype)
      d2 = kernels.squared_distances(x, x)
      iu = np.triu_indices(m, 1)
      pairs = np.sort(np.asarray(d2)[:, iu[0], iu[1]], -1)
      n = pairs.shape[-1]
      low, high = batched(d2)
      for i in range(len(sets)):
        one_low, one_high = single(d2[i])
        assert one_low == pairs[i, (n - 1) // 2] and one_high == pairs[i, n // 2]
        assert low[i] == one_low and high[i] == one_high


def test_bandwidth_is_clamped_and_has_no_gradient():
  same = jnp.ones((2, 5, 3))
  np.testing.assert_allclose(kernels.median_bandwidth(same), 1e-3)
  x = jax.random.normal(jax.random.key(1), (4, 6, 2))
  for name in kernels.BANDWIDTHS:
    g = jax.grad(lambda p: jnp.sum(kernels.bandwidth(p, name)))(x)
    assert np.all(np.asarray(g) == 0.0), name
  with pytest.raises(ValueError, match="accepted: median, median_distance, mean"):
    kernels.bandwidth(x, "silverman")


def test_svgd_direction_matches_autodiff_kernel_gradient(x64):
  x = jax.random.normal(jax.random.key(2), (2, 7, 3), jnp.float64)
  g = jax.random.normal(jax.random.key(3), (2, 7, 3), jnp.float64)
  h = jnp.array([0.7, 1.9])

  def reference(xs, gs, hh):
    k = lambda a, b: jnp.exp(-jnp.sum((a - b) ** 2) / hh)
    grad_first = jax.grad(k, argnums=0)

    def phi(xi):
      terms = jax.vmap(lambda xj, gj: k(xj, xi) * gj + grad_first(xj, xi))(xs, gs)
      return terms.mean(0)

    return jax.vmap(phi)(xs)

  expected = jax.vmap(reference)(x, g, h)
  np.testing.assert_allclose(stein.svgd_direction(x, g, h), expected, rtol=1e-10, atol=1e-12)


def test_squashed_score_matches_autodiff(x64):
  w = jnp.array([0.3, -1.2])

  def q(a):
    return jnp.sum(jnp.sin(3 * a) * w) + a[0] * a[1]

  alpha = 0.7

  def log_p(u):
    a = jnp.tanh(u)
    return q(a) / alpha + jnp.sum(jnp.log(1 - a ** 2))

  u = jnp.array([0.4, -0.9])
  score = stein.squashed_score(u, jax.grad(q)(jnp.tanh(u)), alpha)
  np.testing.assert_allclose(score, jax.grad(log_p)(u), rtol=1e-12)


def test_svgd_recovers_gaussian_mean_and_covariance():
  mean = jnp.array([1.0, -0.5])
  cov = jnp.array([[1.0, 0.6], [0.6, 0.8]])
  precision = jnp.linalg.inv(cov)
  x = jax.random.normal(jax.random.key(4), (200, 2)) * 0.3

  @jax.jit
  def run(x):
    def step(x, _):
      scores = -(x - mean) @ precision
      return x + 0.1 * stein.svgd_direction(x, scores, kernels.median_bandwidth(x)), None
    return jax.lax.scan(step, x, None, length=1000)[0]

  x = np.asarray(run(x))
  np.testing.assert_allclose(x.mean(0), mean, atol=0.03)
  np.testing.assert_allclose(np.cov(x.T), cov, atol=0.08)


def test_amortized_svgd_covers_both_modes_of_a_bimodal_energy():
  # Target on the box: exp(Q) with Q the log of two bumps at (+-0.5, 0), std 0.3: its density
  # at the origin is half the peaks'. (With modes 5 std apart amortized SVGD can fall wholly into
  # the mode nearer its initial output — seed-dependent — see BUILD_NOTES.md.)
  centres = jnp.array([[0.5, 0.0], [-0.5, 0.0]])

  def q(a):
    return jax.nn.logsumexp(-jnp.sum((a[..., None, :] - centres) ** 2, -1) / (2 * 0.3 ** 2), -1)

  sampler = networks.NoiseSampler((32, 32), 2)
  obs = jnp.zeros((1, 32, 1))
  params = sampler.init(jax.random.key(5), obs, jnp.zeros((1, 32, 2)))
  opt = optax.adam(1e-3)

  @jax.jit
  def train(params, key):
    def step(carry, k):
      params, opt_state = carry

      def loss_fn(p):
        u = sampler.apply(p, obs, jax.random.normal(k, (1, 32, 2)))
        uf = jax.lax.stop_gradient(u)
        scores = stein.squashed_score(uf, jax.grad(lambda a: jnp.sum(q(a)))(jnp.tanh(uf)), 1.0)
        phi = stein.svgd_direction(uf, scores, kernels.median_bandwidth(uf))
        return losses.amortized_svgd_surrogate(u, phi)

      updates, opt_state = opt.update(jax.grad(loss_fn)(params), opt_state)
      return (optax.apply_updates(params, updates), opt_state), None

    return jax.lax.scan(step, (params, opt.init(params)), jax.random.split(key, 2000))[0][0]

  params = train(params, jax.random.key(6))
  a = np.asarray(jnp.tanh(sampler.apply(params, jnp.zeros((1, 2000, 1)),
                                        jax.random.normal(jax.random.key(7), (1, 2000, 2)))))[0]
  right = np.mean(a[:, 0] > 0)
  assert 0.4 < right < 0.6, right  # both modes hold a fair share (a collapsed sampler fails)
  near_modes = np.mean(np.abs(np.abs(a[:, 0]) - 0.5) < 0.1)
  near_centre = np.mean(np.abs(a[:, 0]) < 0.1)
  assert near_modes > 1.5 * near_centre, (near_modes, near_centre)  # bimodal, not one blob


def test_entropy_above_box_bound_counts_impossible_estimates():
  """States whose estimate exceeds `d log 2` (here 2 log 2 ≈ 1.386) are counted, others not."""
  log_probs = jnp.array([[-1.0, -1.2], [-1.5, -1.5], [2.0, -10.0], [-1.38, -1.39]])
  # estimates 1.1, 1.5, 4.0, 1.385: two of four above the bound.
  assert float(stein.entropy_above_box_bound(log_probs, 2)) == 0.5
  assert float(stein.entropy_above_box_bound(log_probs, 3)) == 0.25  # bound 2.079


def test_entropy_above_box_bound_excludes_the_uniform_density_and_batches():
  """An estimate of exactly `d log 2` (the uniform density's entropy) is possible, so it is not
  counted; states over two batch axes `[2, 2, m]` are averaged together."""
  at_bound = -2.0 * math.log(2.0)
  log_probs = jnp.array([[[at_bound, at_bound], [-2.0, -2.0]], [[-1.0, -1.0], [-0.5, -0.5]]])
  assert float(stein.entropy_above_box_bound(log_probs, 2)) == 0.25


def test_median_bandwidth_over_two_batch_axes_equals_each_set():
  x = jax.random.normal(jax.random.key(3), (2, 3, 5, 2))
  one = jax.jit(kernels.median_bandwidth)
  per_set = [[one(x[i, j]) for j in range(3)] for i in range(2)]
  np.testing.assert_allclose(kernels.median_bandwidth(x), np.asarray(per_set), rtol=1e-6)


@pytest.mark.parametrize("d", [2, 65])  # per-coordinate passes, and one vectorised pass past 64
def test_squared_distances_between_sets_of_different_sizes(x64, d):
  rng = np.random.default_rng(d)
  x, y = rng.normal(size=(2, 3, d)), rng.normal(size=(2, 4, d))
  expected = ((x[:, :, None] - y[:, None]) ** 2).sum(-1)
  np.testing.assert_allclose(kernels.squared_distances(x, y), expected, rtol=1e-13)


def test_rbf_kernel_keeps_the_particles_dtype(x64):
  """A float64 bandwidth (NumPy array, 64-bit floats on) does not promote float32 particles."""
  x = jnp.ones((2, 3, 2), jnp.float32)
  assert kernels.rbf_kernel(x, x, np.asarray([0.5, 2.0])).dtype == jnp.float32


def test_bandwidth_defaults_to_the_median_rule():
  x = jax.random.normal(jax.random.key(8), (3, 7, 2))
  np.testing.assert_array_equal(kernels.bandwidth(x), kernels.median_bandwidth(x))
  with pytest.raises(ValueError, match="accepted: median"):
    kernels.bandwidth(x, "widest")


def test_bandwidth_needs_two_particles():
  with pytest.raises(ValueError, match="at least 2 particles, got m=1"):
    kernels.median_bandwidth(jnp.zeros((1, 2)))
