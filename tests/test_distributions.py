"""Tests of the truncated / tanh Gaussians (§3.1, §3.8) and of S2AC ≡ SAC at L = 0 (§3.4–§3.8)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from softq import distributions
from softq import losses
from softq import stein

_trunc_log_prob = jax.jit(distributions.truncated_normal_log_prob)


def _gauss_legendre(lo, hi, n):
  nodes, weights = np.polynomial.legendre.leggauss(n)
  return 0.5 * (hi - lo) * nodes + 0.5 * (hi + lo), 0.5 * (hi - lo) * weights


def test_truncated_normal_density_integrates_to_one_1d_and_2d(x64):
  mean, std = jnp.array([0.4, -1.0]), jnp.array([0.7, 2.5])
  # 1-D: each coordinate's density over its box; matches scipy's truncnorm pointwise.
  for k in range(2):
    x, w = _gauss_legendre(float(mean[k] - 3 * std[k]), float(mean[k] + 3 * std[k]), 80)
    log_q = _trunc_log_prob(jnp.asarray(x)[:, None], mean[k:k + 1], std[k:k + 1])
    np.testing.assert_allclose(np.sum(w * np.exp(log_q)), 1.0, atol=1e-12)
    np.testing.assert_allclose(
        log_q, stats.truncnorm.logpdf(x, -3, 3, loc=float(mean[k]), scale=float(std[k])),
        atol=1e-10)
  # 2-D: tensor-product quadrature over the box.
  x0, w0 = _gauss_legendre(float(mean[0] - 3 * std[0]), float(mean[0] + 3 * std[0]), 80)
  x1, w1 = _gauss_legendre(float(mean[1] - 3 * std[1]), float(mean[1] + 3 * std[1]), 80)
  grid = jnp.stack(jnp.meshgrid(x0, x1, indexing="ij"), axis=-1)
  mass = np.sum(np.outer(w0, w1) * np.exp(_trunc_log_prob(grid, mean, std)))
  np.testing.assert_allclose(mass, 1.0, atol=1e-12)
  # Outside the box the density is exactly zero.
  outside = jnp.array([[mean[0] + 3.01 * std[0], mean[1]], [mean[0], mean[1] - 3.2 * std[1]]])
  assert jnp.all(_trunc_log_prob(outside, mean, std) == -jnp.inf)
  # The normaliser is -d log(Phi(3) - Phi(-3)) per particle.
  np.testing.assert_allclose(distributions.truncated_normal_log_normalizer(3.0),
                             math.log(stats.norm.cdf(3) - stats.norm.cdf(-3)), atol=1e-14)


def test_truncated_normal_samples_are_exact_and_reparameterised(x64):
  mean, std = jnp.array([[0.4, -1.0]]), jnp.array([[0.7, 2.5]])
  u, log_q = distributions.sample_truncated_normal(jax.random.PRNGKey(0), mean, std, 200_000)
  assert u.shape == (1, 200_000, 2) and log_q.shape == (1, 200_000)
  z = (u[0] - mean) / std
  assert jnp.all(jnp.abs(z) <= 3.0)
  np.testing.assert_allclose(log_q, _trunc_log_prob(u, mean[:, None], std[:, None]), atol=1e-12)
  # Moments of the standard truncated normal, within 5 standard errors.
  n = z.shape[0]
  var = stats.truncnorm.var(-3, 3)
  assert jnp.all(jnp.abs(z.mean(0)) < 5 * math.sqrt(var / n))
  fourth = stats.truncnorm.moment(4, -3, 3)
  assert jnp.all(jnp.abs(z.var(0) - var) < 5 * math.sqrt((fourth - var**2) / n))
  # Gradients flow through u = mean + std z.
  grad = jax.grad(lambda m, s: distributions.sample_truncated_normal(
      jax.random.PRNGKey(1), m, s, 3)[0].sum(), argnums=(0, 1))(mean, std)
  np.testing.assert_allclose(grad[0], 3.0 * jnp.ones_like(mean))


def test_tanh_log_det_jacobian_is_exact_and_stable(x64):
  u = jnp.linspace(-4.0, 4.0, 17)
  np.testing.assert_allclose(distributions.tanh_log_det_jacobian(u[:, None]),
                             jnp.log(1.0 - jnp.tanh(u) ** 2), rtol=1e-12)
  grad_tanh = jax.vmap(jax.grad(jnp.tanh))(u)
  np.testing.assert_allclose(distributions.tanh_log_det_jacobian(u[:, None]), jnp.log(grad_tanh),
                             rtol=1e-12)
  # Far in the tail 1 - tanh^2 underflows; the stable form gives log 4 - 2|u| (+ exp(-2|u|) terms).
  big = jnp.array([[30.0], [-30.0], [400.0]])
  np.testing.assert_allclose(distributions.tanh_log_det_jacobian(big),
                             math.log(4.0) - 2.0 * jnp.abs(big[:, 0]), rtol=1e-14)
  with jax.enable_x64(False):
    assert jnp.isfinite(distributions.tanh_log_det_jacobian(jnp.full((1, 3), 50.0))).all()


def test_tanh_gaussian_density_integrates_to_one_over_the_box(x64):
  mean, std = jnp.array([0.3]), jnp.array([0.8])
  a, w = _gauss_legendre(-1.0, 1.0, 200)
  u = jnp.arctanh(jnp.asarray(a))[:, None]
  log_pi = distributions.tanh_gaussian_log_prob(u, mean, std)
  np.testing.assert_allclose(np.sum(w * np.exp(log_pi)), 1.0, atol=1e-10)
  np.testing.assert_allclose(
      log_pi, stats.norm.logpdf(u[:, 0], 0.3, 0.8) - np.log(1.0 - a**2), atol=1e-10)
  action, pre, log_prob = distributions.sample_tanh_gaussian(
      jax.random.PRNGKey(2), jnp.zeros((4, 3)) + 0.1, jnp.ones((4, 3)) * 0.5)
  np.testing.assert_allclose(action, jnp.tanh(pre))
  np.testing.assert_allclose(log_prob, distributions.tanh_gaussian_log_prob(pre, 0.1, 0.5),
                             atol=1e-12)


# --------------------------------------------------------------------------------------------
# S2AC with L = 0 and no truncation is SAC (§3.8)

B, S_DIM, A_DIM = 5, 3, 2
ALPHA, GAMMA = 0.3, 0.99


def _policy(theta, states):
  mean = states @ theta["w_mean"] + theta["b_mean"]
  std = jnp.exp(jnp.clip(states @ theta["w_log_std"] + theta["b_log_std"], -20.0, 2.0))
  return mean, std


def _critics(phi, states, actions):
  """Twin closed-form critics `Q_k(s, a) = s.c_k - |a - A_k s|^2`, broadcast over particle axes."""
  target = jnp.einsum("kij,...j->k...i", phi["a"], states)
  while target.ndim < actions.ndim + 1:
    target = target[..., None, :]
  lin = jnp.einsum("kj,...j->k...", phi["c"], states)
  while lin.ndim < actions.ndim:
    lin = lin[..., None]
  return lin - jnp.sum(jnp.square(actions - target), axis=-1)


def _params(key):
  ks = jax.random.split(key, 8)
  theta = {"w_mean": jax.random.normal(ks[0], (S_DIM, A_DIM)) * 0.5,
           "b_mean": jax.random.normal(ks[1], (A_DIM,)) * 0.1,
           "w_log_std": jax.random.normal(ks[2], (S_DIM, A_DIM)) * 0.3,
           "b_log_std": jnp.full((A_DIM,), -0.5)}
  phi = {"a": jax.random.normal(ks[3], (2, A_DIM, S_DIM)) * 0.3,
         "c": jax.random.normal(ks[4], (2, S_DIM))}
  batch = {"s": jax.random.normal(ks[5], (B, S_DIM)), "s2": jax.random.normal(ks[6], (B, S_DIM)),
           "a": jnp.tanh(jax.random.normal(ks[7], (B, A_DIM))),
           "r": jnp.linspace(-1.0, 1.0, B), "done": jnp.array([0.0, 1.0, 0.0, 0.0, 1.0])}
  return theta, phi, batch


@jax.jit
def _s2ac_losses(theta, phi, phi_target, batch, noise, noise_next):
  """S2AC pipeline (reparameterised initial draw -> svgd_sample -> tanh), L = 0, no truncation."""
  def policy(states, eps):
    mean, std = _policy(theta, states)
    score = stein.action_value_score(lambda a: jnp.min(_critics(phi, states, a), axis=0), ALPHA)
    return stein.stein_policy(mean, std, eps, score, num_steps=0, step_size=0.1,
                              truncation=jnp.inf)
  next_actions, _, next_log_probs = policy(batch["s2"], noise_next)
  critic = losses.s2ac_critic_loss(
      _critics(phi, batch["s"], batch["a"]), batch["r"],
      _critics(phi_target, batch["s2"], next_actions), next_log_probs, batch["done"], GAMMA, ALPHA)
  actions, _, log_probs = policy(batch["s"], noise)
  actor = losses.s2ac_actor_loss(_critics(phi, batch["s"], actions), log_probs, ALPHA)
  return critic, actor


@jax.jit
def _sac_losses(theta, phi, phi_target, batch, noise, noise_next):
  def policy(states, eps):
    mean, std = _policy(theta, states)
    u = mean + std * eps
    return jnp.tanh(u), distributions.tanh_gaussian_log_prob(u, mean, std)
  next_actions, next_log_probs = policy(batch["s2"], noise_next)
  critic = losses.sac_critic_loss(
      _critics(phi, batch["s"], batch["a"]), batch["r"],
      _critics(phi_target, batch["s2"], next_actions), next_log_probs, batch["done"], GAMMA, ALPHA)
  actions, log_probs = policy(batch["s"], noise)
  actor = losses.sac_actor_loss(_critics(phi, batch["s"], actions), log_probs, ALPHA)
  return critic, actor


def test_s2ac_with_zero_steps_and_no_truncation_equals_sac(x64):
  theta, phi, batch = _params(jax.random.PRNGKey(3))
  phi_target = jax.tree.map(lambda x: 0.9 * x, phi)
  k1, k2 = jax.random.split(jax.random.PRNGKey(4))
  noise, noise_next = jax.random.normal(k1, (B, A_DIM)), jax.random.normal(k2, (B, A_DIM))
  args = (theta, phi, phi_target, batch)
  s2ac = _s2ac_losses(*args, noise[:, None], noise_next[:, None])  # m = 1 particle
  sac = _sac_losses(*args, noise, noise_next)
  np.testing.assert_allclose(s2ac, sac, rtol=1e-13)
  # Same gradients: critic loss w.r.t. the critics, actor loss w.r.t. the policy.
  critic_grads = jax.jit(lambda fn, *a: jax.grad(lambda p: fn(a[0], p, *a[2:])[0])(a[1]),
                         static_argnums=0)
  actor_grads = jax.jit(lambda fn, *a: jax.grad(lambda t: fn(t, *a[1:])[1])(a[0]),
                        static_argnums=0)
  for grads in (critic_grads, actor_grads):
    g_s2ac = grads(_s2ac_losses, *args, noise[:, None], noise_next[:, None])
    g_sac = grads(_sac_losses, *args, noise, noise_next)
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14),
                 g_s2ac, g_sac)
  # With m particles the S2AC actor loss is SAC's over the B*m (state, noise) pairs.
  noise_m = jax.random.normal(jax.random.PRNGKey(5), (B, 4, A_DIM))
  actor_m = _s2ac_losses(*args, noise_m, noise_next[:, None])[1]
  flat = jax.tree.map(lambda x: jnp.repeat(x, 4, axis=0), batch)
  actor_flat = _sac_losses(theta, phi, phi_target, flat, noise_m.reshape(-1, A_DIM),
                           jnp.repeat(noise_next, 4, axis=0))[1]
  np.testing.assert_allclose(actor_m, actor_flat, rtol=1e-13)


def test_s2ac_targets_average_particles_and_respect_terminals(x64):
  next_q = jnp.array([[[1.0, 3.0], [2.0, 0.0]], [[2.0, 2.0], [1.0, 4.0]]])  # [K=2, B=2, m=2]
  next_log_probs = jnp.array([[-1.0, -3.0], [0.5, 0.5]])
  y = losses.s2ac_targets(jnp.array([1.0, 2.0]), next_q, next_log_probs,
                          jnp.array([0.0, 1.0]), 0.9, 0.5)
  # State 0: min over critics (1, 2) -> mean 1.5; entropy bonus -0.5 * mean(-1, -3) = 1.
  np.testing.assert_allclose(y, [1.0 + 0.9 * (1.5 + 1.0), 2.0], atol=1e-14)
  loss = losses.twin_q_loss(jnp.array([[0.0, 2.0], [1.0, 1.0]]), y)
  np.testing.assert_allclose(loss, (3.25**2 + 0.0) / 2 + (2.25**2 + 1.0) / 2, atol=1e-12)


def test_sac_alpha_loss_gradient_raises_alpha_when_entropy_is_low(x64):
  log_probs = jnp.array([1.0, 2.0, 0.5])
  target = losses.sac_target_entropy(2)
  assert target == -2.0
  grad = jax.grad(losses.sac_alpha_loss)(jnp.asarray(0.1), log_probs, target)
  np.testing.assert_allclose(grad, -jnp.mean(log_probs + target), atol=1e-14)
  # -E log pi = -7/6 > -2 here: entropy is above the target, so gradient descent lowers alpha.
  assert grad > 0
  grad_low = jax.grad(losses.sac_alpha_loss)(jnp.asarray(0.1), log_probs + 3.0, target)
  assert grad_low < 0


def test_samplers_keep_batch_axes_dtype_bound_and_their_draws():
  """Both samplers over batch axes `[2, 3]` (d = 4) with float32 parameters under float64 equal
  the formula applied to the same key's draws, with the bound passed on (here 2, not 3)."""
  with jax.enable_x64(True):
    key = jax.random.PRNGKey(5)
    mean = jnp.linspace(-0.5, 0.5, 24, dtype=jnp.float32).reshape(2, 3, 4)
    std = jnp.linspace(0.2, 0.9, 24, dtype=jnp.float32).reshape(2, 3, 4)
    u, log_q = distributions.sample_truncated_normal(key, mean, std, 5, bound=2.0)
    assert u.shape == (2, 3, 5, 4) and log_q.shape == (2, 3, 5)
    assert u.dtype == log_q.dtype == jnp.float32
    z = jax.random.truncated_normal(key, -2.0, 2.0, (2, 3, 5, 4), dtype=jnp.float32)
    np.testing.assert_allclose(u, mean[..., None, :] + std[..., None, :] * z, rtol=1e-6)
    np.testing.assert_allclose(
        log_q, distributions.truncated_normal_log_prob(u, mean[..., None, :], std[..., None, :],
                                                       2.0), rtol=1e-5)
    action, pre, log_pi = distributions.sample_tanh_gaussian(key, mean, std)
    assert pre.shape == (2, 3, 4) and log_pi.shape == (2, 3)
    assert action.dtype == pre.dtype == log_pi.dtype == jnp.float32
    noise = jax.random.normal(key, (2, 3, 4), dtype=jnp.float32)
    np.testing.assert_allclose(pre, mean + std * noise, rtol=1e-6)
    np.testing.assert_allclose(action, jnp.tanh(pre), rtol=1e-6)
    np.testing.assert_allclose(log_pi, distributions.tanh_gaussian_log_prob(pre, mean, std),
                               rtol=1e-5)


def test_truncated_density_is_decided_per_point_and_includes_the_boundary(x64):
  """Each point of a batch is inside or outside on its own, and the box is closed: a point
  exactly `bound` standard deviations out keeps its density."""
  mean, std = jnp.array([0.0, 1.0]), jnp.array([0.5, 0.25])
  u = jnp.array([[1.5, 1.0], [0.0, 1.76], [-1.5, 0.25]])  # on the edge, outside, both edges
  log_q = distributions.truncated_normal_log_prob(u, mean, std)
  want = distributions.gaussian_log_prob(u, mean, std) - 2 * math.log(
      stats.norm.cdf(3) - stats.norm.cdf(-3))
  assert float(log_q[1]) == -np.inf
  np.testing.assert_allclose(log_q[jnp.array([0, 2])], want[jnp.array([0, 2])], rtol=1e-12)
