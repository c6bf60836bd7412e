"""Tests of the SVGD log-density (§3.2–§3.3), the Langevin/HMC baselines and the §3.10 findings."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import entropy_eval
from softq import distributions
from softq import kernels
from softq import langevin
from softq import stein

GAUSSIAN_MEAN = jnp.array(entropy_eval.GAUSSIAN_MEAN)
GAUSSIAN_COV = jnp.array(entropy_eval.GAUSSIAN_COV)


def _gaussian_score(u):
  return -(u - GAUSSIAN_MEAN) @ jnp.linalg.inv(GAUSSIAN_COV)


def _leave_one_out_map(x, i, particles, scores, h, eps):
  """`x + eps/(m-1) sum_{j != i} [k(u_j, x) g_j + grad_{u_j} k(u_j, x)]` written out directly."""
  m = particles.shape[0]
  diff = x - particles  # [m, d]
  k = jnp.exp(-jnp.sum(diff * diff, axis=-1) / h)
  terms = k[:, None] * scores + (2.0 / h) * diff * k[:, None]
  mask = (jnp.arange(m) != i)[:, None]
  return x + eps * jnp.sum(jnp.where(mask, terms, 0.0), axis=0) / (m - 1)


@jax.jit
def _loo_jacobians(particles, scores, h, eps):
  """Jacobian `[m, d, d]` of each particle's leave-one-out map at its own position."""
  jac = jax.vmap(jax.jacfwd(_leave_one_out_map), in_axes=(0, 0, None, None, None, None))
  return jac(particles, jnp.arange(particles.shape[0]), particles, scores, h, eps)


_step = jax.jit(stein.svgd_step, static_argnames="log_det")


def _random_set(key, shape):
  k1, k2 = jax.random.split(key)
  return jax.random.normal(k1, shape), 2.0 * jax.random.normal(k2, shape)


def test_increment_equals_minus_eps_trace_of_autodiff_jacobian(x64):
  eps = 0.3
  for seed, (m, d), h in [(0, (7, 3), 1.7), (1, (5, 2), 0.4)]:
    u, g = _random_set(jax.random.PRNGKey(seed), (m, d))
    new, inc = _step(u, g, h, eps)
    trace = jnp.trace(_loo_jacobians(u, g, h, eps), axis1=-2, axis2=-1) - d
    np.testing.assert_allclose(inc, -trace, rtol=0, atol=1e-8)
    np.testing.assert_allclose(new, u + eps * stein.svgd_direction(u, g, h), rtol=0, atol=1e-12)


def test_increment_batches_over_leading_axes_and_bandwidths(x64):
  u, g = _random_set(jax.random.PRNGKey(3), (2, 3, 6, 2))
  h = jnp.array([[0.5, 1.0, 2.0], [3.0, 4.0, 5.0]])
  new, inc = _step(u, g, h, 0.2)
  assert new.shape == (2, 3, 6, 2) and inc.shape == (2, 3, 6)
  for a in range(2):
    for b in range(3):
      new_ab, inc_ab = _step(u[a, b], g[a, b], h[a, b], 0.2)
      np.testing.assert_allclose(inc[a, b], inc_ab, atol=1e-12)
      np.testing.assert_allclose(new[a, b], new_ab, atol=1e-12)


def test_increment_matches_slogdet_to_second_order(x64):
  u, g = _random_set(jax.random.PRNGKey(4), (6, 3))
  h = 1.2
  errors = []
  for eps in (1e-2, 1e-3):
    _, inc = _step(u, g, h, eps)
    _, logdet = jnp.linalg.slogdet(_loo_jacobians(u, g, h, eps))
    errors.append(jnp.max(jnp.abs(inc + logdet)))
  # log q_{l+1} = log q_l - log|det(I + eps grad phi)| up to O(eps^2).
  assert errors[1] < 1e-5
  assert errors[1] / errors[0] < 0.015  # ratio ~ (1e-3 / 1e-2)^2


def test_exact_increment_equals_minus_slogdet_of_autodiff_jacobian(x64):
  cases = [(5, (7, 3), 1.7, 0.3), (6, (5, 2), 0.05, 0.1), (7, (4, 6), 3.0, 0.5)]
  for seed, (m, d), h, eps in cases:
    u, g = _random_set(jax.random.PRNGKey(seed), (m, d))
    new, inc = _step(u, g, h, eps, log_det="exact")
    _, logdet = jnp.linalg.slogdet(_loo_jacobians(u, g, h, eps))
    np.testing.assert_allclose(inc, -logdet, rtol=0, atol=1e-10)
    np.testing.assert_allclose(new, _step(u, g, h, eps)[0], rtol=0, atol=1e-12)


def test_exact_increment_stays_bounded_where_the_trace_form_runs_away(x64):
  # A collapsed particle set (spread 1e-3) at the 1e-3 bandwidth clamp: eps/h = 100, far outside
  # the first-order regime. The trace form gains ~eps 2d/h nats per step; the exact log-det only
  # its logarithm.
  u = 1e-3 * jax.random.normal(jax.random.PRNGKey(8), (10, 2))
  g = jnp.zeros_like(u)
  _, trace_inc = _step(u, g, 1e-3, 0.1)
  _, exact_inc = _step(u, g, 1e-3, 0.1, log_det="exact")
  assert jnp.all(trace_inc < -200)
  assert jnp.all(jnp.abs(exact_inc) < 15)


def test_close_neighbours_lower_log_density(x64):
  # §3.3 sign check: with zero scores, pairs closer than ||Δ||² < d h / 2 lower log q.
  u = jnp.array([[0.0, 0.0], [0.3, 0.0]])
  _, inc = _step(u, jnp.zeros_like(u), 1.0, 0.1)
  assert jnp.all(inc < 0)
  u_far = jnp.array([[0.0, 0.0], [1.2, 0.0]])
  _, inc_far = _step(u_far, jnp.zeros_like(u_far), 1.0, 0.1)
  assert jnp.all(inc_far > 0)


_svgd = jax.jit(stein.svgd_sample, static_argnums=(0, 3, 5))


def _initial(key, shape):
  u0 = math.sqrt(6.0) * jax.random.normal(key, shape)
  return u0, distributions.gaussian_log_prob(u0, 0.0, math.sqrt(6.0))


def test_svgd_sample_composes_and_zero_steps_is_identity(x64):
  u0, lq0 = _initial(jax.random.PRNGKey(5), (2, 20, 2))
  u_a, lq_a = _svgd(_gaussian_score, u0, lq0, 6, 0.5)
  u_b, lq_b = _svgd(_gaussian_score, *_svgd(_gaussian_score, u0, lq0, 3, 0.5), 3, 0.5)
  np.testing.assert_allclose(u_a, u_b, atol=1e-12)
  np.testing.assert_allclose(lq_a, lq_b, atol=1e-12)
  u_0, lq_0 = stein.svgd_sample(_gaussian_score, u0, lq0, 0, 0.5)
  assert u_0 is u0 and lq_0 is lq0

  @jax.jit
  def manual(u, lq):
    for _ in range(6):
      u, inc = stein.svgd_step(u, _gaussian_score(u), kernels.median_bandwidth(u), 0.5)
      lq = lq + inc
    return u, lq

  # A loop of svgd_step on one set with its own median bandwidth equals that set of the batch.
  u_1, lq_1 = manual(u0[1], lq0[1])
  np.testing.assert_allclose(u_a[1], u_1, atol=1e-10)
  np.testing.assert_allclose(lq_a[1], lq_1, atol=1e-10)


def test_svgd_sample_is_differentiable_and_vmappable(x64):
  noise = jax.random.normal(jax.random.PRNGKey(6), (12, 2))

  @jax.jit
  def entropy(shift, key_noise):
    u0 = shift + key_noise
    lq0 = distributions.gaussian_log_prob(u0, shift, 1.0)
    _, lq = stein.svgd_sample(_gaussian_score, u0, lq0, 5, 0.3, bandwidth=0.8)
    return -jnp.mean(lq)

  shift = jnp.array([0.3, -0.2])
  grad = jax.jit(jax.grad(entropy))(shift, noise)
  fd = jnp.array([(entropy(shift + e, noise) - entropy(shift - e, noise)) / 2e-6
                  for e in 1e-6 * jnp.eye(2)])
  np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)
  batched = jax.vmap(entropy, in_axes=(None, 0))(shift, jnp.stack([noise, -noise]))
  np.testing.assert_allclose(batched, [entropy(shift, noise), entropy(shift, -noise)], atol=1e-12)


def _leapfrog_positions(u, v, score, eps, num_leapfrog):
  """Plain leapfrog, one particle `[d]`: half kick, drift, then full kicks and drifts."""
  for k in range(num_leapfrog):
    v = v + (0.5 if k == 0 else 1.0) * eps * score(u)
    u = u + eps * v
  return u


def test_hmc_log_det_is_the_whole_trajectory_jacobian(x64):
  """`langevin.leapfrog`'s log-det equals `slogdet` of autodiff of the leapfrog map `u_0 -> u_L`
  with the fresh velocity held fixed, on a non-Gaussian target (three-component mixture) and for
  several L and eps; on a Gaussian its first-order term is `L^2/2 eps^2 tr grad g` (§3.10), not
  the per-kick `(L - 1/2) eps^2 tr grad g`."""
  means = entropy_eval.mixture_means(3, 2)
  score = jax.vmap(jax.grad(lambda x: entropy_eval.mixture_log_density(x, means)))
  key_u, key_v = jax.random.split(jax.random.PRNGKey(4))
  u0 = 2.0 * jax.random.normal(key_u, (6, 2), dtype=jnp.float64)
  v0 = jax.random.normal(key_v, (6, 2), dtype=jnp.float64)
  one = lambda x: score(x[None])[0]
  for num_leapfrog, eps in ((1, 0.3), (5, 0.1), (10, 0.2)):
    u_l, log_det = langevin.leapfrog(score, u0, v0, eps, num_leapfrog)
    jac = jax.vmap(jax.jacfwd(_leapfrog_positions), in_axes=(0, 0, None, None, None))(
        u0, v0, one, eps, num_leapfrog)
    np.testing.assert_allclose(log_det, jnp.linalg.slogdet(jac)[1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        u_l, jax.vmap(_leapfrog_positions, in_axes=(0, 0, None, None, None))(
            u0, v0, one, eps, num_leapfrog), atol=1e-12)
  tr_grad = -jnp.trace(jnp.linalg.inv(GAUSSIAN_COV))
  eps, num_leapfrog = 1e-3, 5
  _, log_det = langevin.leapfrog(_gaussian_score, u0, v0, eps, num_leapfrog)
  np.testing.assert_allclose(log_det, num_leapfrog**2 / 2 * eps**2 * tr_grad, rtol=1e-4)


def test_langevin_estimates_follow_their_change_of_variables_formula(x64):
  u0, lq0 = _initial(jax.random.PRNGKey(7), (10, 2))
  tr_precision = jnp.trace(jnp.linalg.inv(GAUSSIAN_COV))
  eps, steps = 0.1, 4
  key = jax.random.PRNGKey(0)

  @jax.jit
  def run_all(u0, lq0):
    return (langevin.deterministic_langevin_sample(_gaussian_score, u0, lq0, steps, eps)[1],
            langevin.langevin_sample(_gaussian_score, u0, lq0, steps, eps, 0.05, key)[1],
            langevin.hmc_sample(_gaussian_score, u0, lq0, steps, eps, 3, key)[1])

  lq_dld, lq_sgld, lq_hmc = run_all(u0, lq0)
  # For a Gaussian target tr grad g = -tr(Σ^-1) at every point.
  np.testing.assert_allclose(lq_dld, lq0 + steps * eps * tr_precision, atol=1e-12)
  np.testing.assert_allclose(lq_sgld, lq0 + steps * eps * tr_precision, atol=1e-12)
  # HMC: for a Gaussian the leapfrog map is affine in u_0, the same log-det for every particle
  # and velocity: that of the trajectory Jacobian (autodiff of the plain leapfrog map).
  log_det = jnp.linalg.slogdet(jax.jacfwd(_leapfrog_positions)(
      u0[0], jnp.zeros(2), _gaussian_score, eps, 3))[1]
  np.testing.assert_allclose(lq_hmc, lq0 - steps * log_det, atol=1e-12)
  # Laplacian by JVPs equals the trace of the autodiff Hessian for a non-Gaussian target.
  means = entropy_eval.mixture_means(3, 2)
  log_p = lambda x: entropy_eval.mixture_log_density(x, means)
  score = jax.grad(lambda x: jnp.sum(log_p(x)))
  _, lap = jax.jit(lambda u: langevin.score_and_laplacian(score, u))(u0)
  hess = jax.jit(jax.vmap(jax.hessian(log_p)))(u0)
  np.testing.assert_allclose(lap, jnp.trace(hess, axis1=-2, axis2=-1), atol=1e-12)


def test_gaussian_entropy_recovered_by_svgd_and_not_by_langevin_or_hmc(x64):
  _, _, truth = entropy_eval.gaussian_target()
  assert abs(truth - 3.4112) < 1e-4
  u0, lq0 = _initial(jax.random.PRNGKey(8), (4, 200, 2))
  _, lq = _svgd(_gaussian_score, u0, lq0, 100, 0.5)
  per_seed = -lq.mean(-1)
  assert abs(per_seed.mean() - truth) < 0.1, per_seed
  key = jax.random.PRNGKey(9)

  @jax.jit
  def others(u0, lq0):
    return {
        "sgld": langevin.langevin_sample(_gaussian_score, u0, lq0, 100, 0.5, 0.05, key)[1],
        "dld": langevin.deterministic_langevin_sample(_gaussian_score, u0, lq0, 100, 0.5)[1],
        "hmc": langevin.hmc_sample(_gaussian_score, u0, lq0, 100, 0.5, 5, key)[1],
    }

  for name, lq_other in others(u0, lq0).items():
    assert abs(-lq_other.mean() - truth) > 1.0, name


_mixture_log_density = jax.jit(entropy_eval.mixture_log_density)


def test_mixture_density_is_normalised(x64):
  grid = jnp.linspace(-12.0, 12.0, 481)
  xx, yy = jnp.meshgrid(grid, grid)
  x = jnp.stack([xx, yy], axis=-1)
  cell = (grid[1] - grid[0]) ** 2
  for n in (1, 2, 4, 6):
    mass = jnp.sum(jnp.exp(_mixture_log_density(x, entropy_eval.mixture_means(n, 2))))
    np.testing.assert_allclose(mass * cell, 1.0, atol=1e-9)


def _masked_mixture_log_density(x, means, mask):
  """Equal-weight unit-variance mixture over the components where `mask` is true.

  `x: [..., d]`, `means: [..., n_max, d]`, `mask: [..., n_max]` (broadcast against `x`'s axes).
  """
  sq = jnp.sum(jnp.square(x[..., None, :] - means), axis=-1)
  logits = jnp.where(mask, -0.5 * sq, -jnp.inf)
  n = jnp.sum(mask, axis=-1)
  return jax.nn.logsumexp(logits, axis=-1) - jnp.log(n) - 0.5 * x.shape[-1] * math.log(2 * math.pi)


def test_mixture_entropy_estimates_increase_with_components(x64):
  counts = (1, 2, 4, 6)
  means = jnp.stack([jnp.pad(entropy_eval.mixture_means(n, 2), ((0, 6 - n), (0, 0)))
                     for n in counts])[:, None, None]  # [4, 1, 1, 6, 2]
  mask = (jnp.arange(6) < jnp.array(counts)[:, None])[:, None, None]  # [4, 1, 1, 6]
  x = jax.random.normal(jax.random.PRNGKey(11), (4, 1, 3, 2))
  np.testing.assert_allclose(  # the padded density is the experiment's density
      _masked_mixture_log_density(x, means, mask)[2, 0],
      entropy_eval.mixture_log_density(x[2, 0], entropy_eval.mixture_means(4, 2)), atol=1e-12)
  score = jax.grad(lambda u: jnp.sum(_masked_mixture_log_density(u, means, mask)))
  u0, lq0 = _initial(jax.random.PRNGKey(10), (2, 100, 2))
  u0, lq0 = jnp.broadcast_to(u0, (4,) + u0.shape), jnp.broadcast_to(lq0, (4,) + lq0.shape)
  _, lq = _svgd(score, u0, lq0, 100, 0.5)
  estimates = -lq.mean(axis=(1, 2))
  assert jnp.all(jnp.diff(estimates) > 0), estimates


def test_stein_policy_composes_truncated_start_svgd_and_squash(x64):
  # Q(s, a) = -|a - c|^2 per state; action_value_score is the §2.3 squashed score of it.
  c = jnp.array([[0.5, -0.2], [-0.3, 0.1]])  # [B=2, d=2]
  q_fn = lambda a: -jnp.sum(jnp.square(a - c[:, None]), axis=-1)
  score_fn = stein.action_value_score(q_fn, 0.5)
  mean, std = jnp.array([[0.1, 0.0], [0.0, -0.2]]), jnp.array([[0.5, 0.3], [0.4, 0.6]])
  key = jax.random.PRNGKey(12)
  run = lambda m, s: stein.sample_stein_policy(key, m, s, 6, score_fn, 3, 0.1)

  @jax.jit
  def check(mean, std):
    actions, u, log_probs = run(mean, std)
    score_error = score_fn(u) - stein.squashed_score(u, -2.0 * (jnp.tanh(u) - c[:, None]), 0.5)
    # By hand: exact truncated draw, svgd_sample, tanh log-Jacobian.
    noise = jax.random.truncated_normal(key, -3.0, 3.0, (2, 6, 2), dtype=mean.dtype)
    u0, lq0 = distributions.reparameterized_truncated_normal(mean, std, noise)
    lq0_error = lq0 - distributions.truncated_normal_log_prob(u0, mean[:, None], std[:, None])
    u_l, lq_l = stein.svgd_sample(score_fn, u0, lq0, 3, 0.1)
    errors = (score_error, lq0_error, u - u_l, actions - jnp.tanh(u_l),
              log_probs - (lq_l - distributions.tanh_log_det_jacobian(u_l)))
    grads = jax.grad(lambda m, s: jnp.mean(run(m, s)[2]), argnums=(0, 1))(mean, std)
    return log_probs, errors, grads

  log_probs, errors, grads = check(mean, std)
  assert log_probs.shape == (2, 6)
  for error in errors:
    np.testing.assert_allclose(error, 0.0, atol=1e-12)
  assert all(jnp.all(jnp.isfinite(g)) and jnp.any(g != 0) for g in grads)


def test_sample_stein_policy_batches_dtype_and_bandwidth():
  """Leading batch axes of any rank, the mean's dtype (float32 under x64) and a given bandwidth
  reach the sampler: equal to `stein_policy` on the same exact truncated draws."""
  with jax.enable_x64(True):
    mean = 0.1 * jnp.ones((2, 3, 2), jnp.float32)  # batch [2, 3], d = 2 (rank 3, B != d)
    std = jnp.full((2, 3, 2), 0.5, jnp.float32)
    score_fn = lambda u: -u
    key = jax.random.PRNGKey(3)
    actions, u, log_probs = stein.sample_stein_policy(key, mean, std, 4, score_fn, 2, 0.1, 0.7)
    assert actions.shape == (2, 3, 4, 2) and actions.dtype == jnp.float32
    noise = jax.random.truncated_normal(key, -3.0, 3.0, (2, 3, 4, 2), dtype=jnp.float32)
    want = stein.stein_policy(mean, std, noise, score_fn, 2, 0.1, 0.7)
    for got, expected in zip((actions, u, log_probs), want):
      np.testing.assert_allclose(got, expected, rtol=1e-6)
    median = stein.stein_policy(mean, std, noise, score_fn, 2, 0.1)[2]
    assert not np.allclose(log_probs, median)  # the bandwidth matters here


def test_exact_increment_batches_over_leading_axes_and_keeps_float32():
  """The exact log-det over batch axes `[2, 3]` equals each set's, and float32 particles give
  float32 steps and increments with float64 enabled, even from a float64 bandwidth and step."""
  with jax.enable_x64(True):
    u, g = _random_set(jax.random.PRNGKey(9), (2, 3, 5, 2))
    h = jnp.array([[0.5, 1.0, 2.0], [3.0, 4.0, 5.0]])
    _, inc = _step(u, g, h, 0.2, log_det="exact")
    for a in range(2):
      for b in range(3):
        np.testing.assert_allclose(inc[a, b], _step(u[a, b], g[a, b], h[a, b], 0.2, "exact")[1],
                                   rtol=0, atol=1e-12)
    u32, g32 = u.astype(jnp.float32), g.astype(jnp.float32)
    for log_det in stein.LOG_DETS:
      new, inc32 = _step(u32, g32, h, jnp.asarray(0.2, jnp.float64), log_det=log_det)
      assert new.dtype == inc32.dtype == jnp.float32, log_det
    assert stein.svgd_direction(u32, g32, h).dtype == jnp.float32


def test_svgd_sample_follows_a_named_bandwidth_rule(x64):
  """A heuristic name is recomputed at every step (here the mean rule, not the median)."""
  u, _ = _random_set(jax.random.PRNGKey(10), (6, 2))
  score_fn = lambda x: -2.0 * x
  got_u, got_lq = stein.svgd_sample(score_fn, u, jnp.zeros(6), 3, 0.3, bandwidth="mean")
  want_u, want_lq = u, jnp.zeros(6)
  for _ in range(3):
    want_u, inc = _step(want_u, score_fn(want_u), kernels.bandwidth(want_u, "mean"), 0.3)
    want_lq = want_lq + inc
  np.testing.assert_allclose(got_u, want_u, rtol=0, atol=1e-12)
  np.testing.assert_allclose(got_lq, want_lq, rtol=0, atol=1e-12)
  median_u, _ = stein.svgd_sample(score_fn, u, jnp.zeros(6), 3, 0.3)
  assert np.max(np.abs(median_u - want_u)) > 1e-4
  with pytest.raises(ValueError, match="^num_steps must be >= 0, got -1$"):
    stein.svgd_sample(score_fn, u, jnp.zeros(6), -1, 0.3)


def test_svgd_step_names_its_bad_arguments():
  with pytest.raises(ValueError, match=r"at least 2 particles per set \(m >= 2\), got m=1"):
    stein.svgd_step(jnp.zeros((1, 2)), jnp.zeros((1, 2)), 1.0, 0.1)
  with pytest.raises(ValueError, match="^log_det must be one of trace, exact, got 'bogus'$"):
    stein.svgd_step(jnp.zeros((3, 2)), jnp.zeros((3, 2)), 1.0, 0.1, log_det="bogus")


def test_stein_policy_passes_the_exact_log_det_on(x64):
  """`log_det="exact"` reaches `svgd_sample` from both policy entry points (and differs from the
  first-order form at this step size)."""
  mean, std = jnp.array([[0.1, -0.3]]), jnp.array([[0.5, 0.4]])
  score_fn = lambda u: -4.0 * u
  key = jax.random.PRNGKey(4)
  noise = jax.random.truncated_normal(key, -3.0, 3.0, (1, 5, 2), dtype=mean.dtype)
  u0, lq0 = distributions.reparameterized_truncated_normal(mean, std, noise)
  u_l, lq_l = stein.svgd_sample(score_fn, u0, lq0, 2, 0.4, log_det="exact")
  want = lq_l - distributions.tanh_log_det_jacobian(u_l)
  _, _, exact = stein.stein_policy(mean, std, noise, score_fn, 2, 0.4, log_det="exact")
  _, _, sampled = stein.sample_stein_policy(key, mean, std, 5, score_fn, 2, 0.4, log_det="exact")
  _, _, trace = stein.stein_policy(mean, std, noise, score_fn, 2, 0.4)
  np.testing.assert_allclose(exact, want, rtol=0, atol=1e-12)
  np.testing.assert_allclose(sampled, want, rtol=0, atol=1e-12)
  assert np.max(np.abs(trace - want)) > 1e-3
