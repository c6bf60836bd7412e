"""softq.losses: soft value vs quadrature and its hard limit, targets and flags (§2.1–2.2, 2.9)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from softq import losses


def q_1d(a):
  return 3.0 * jnp.sin(2.0 * a[..., 0]) + a[..., 0] ** 2


def q_2d(a):
  return 2.0 * jnp.cos(3.0 * a[..., 0]) * a[..., 1] + jnp.exp(a[..., 0]) - a[..., 1] ** 2


def quadrature_soft_value(q_fn, alpha, d, n=2001):
  """alpha log int_{[-1,1]^d} exp(Q/alpha) da by the trapezoid rule on a fine grid."""
  x = np.linspace(-1.0, 1.0, n)
  w = np.full(n, x[1] - x[0])
  w[[0, -1]] *= 0.5
  grids = np.meshgrid(*([x] * d), indexing="ij")
  a = jnp.stack([jnp.asarray(g) for g in grids], -1)
  f = np.exp(np.asarray(q_fn(a)) / alpha - np.max(np.asarray(q_fn(a))) / alpha)
  integral = f
  for _ in range(d):
    integral = np.tensordot(w, integral, axes=(0, 0))
  return alpha * (math.log(integral) + np.max(np.asarray(q_fn(a))) / alpha)


@pytest.mark.parametrize("q_fn,d", [(q_1d, 1), (q_2d, 2)])
@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_soft_value_matches_quadrature(x64, q_fn, d, alpha):
  k = 40_000
  a = jax.random.uniform(jax.random.key(0), (k, d), jnp.float64, -1.0, 1.0)
  q = q_fn(a)
  estimate = float(losses.soft_value(q, alpha, losses.uniform_box_log_density(d)))
  truth = quadrature_soft_value(q_fn, alpha, d)
  # Delta-method Monte Carlo error of alpha * log(mean of importance weights).
  w = np.exp(np.asarray(q) / alpha - np.max(np.asarray(q)) / alpha)
  mc_error = alpha * np.std(w) / (np.mean(w) * math.sqrt(k))
  assert abs(estimate - truth) < 4.0 * mc_error, (estimate, truth, mc_error)
  assert mc_error < 0.02  # the comparison is informative


def test_soft_value_tends_to_max(x64):
  q = jax.random.normal(jax.random.key(1), (7, 50), jnp.float64) * 3.0
  d, k = 2, q.shape[-1]
  gaps = []
  for alpha in (1.0, 1e-1, 1e-2, 1e-3):
    v = losses.soft_value(q, alpha, losses.uniform_box_log_density(d))
    # alpha [LSE(Q/alpha) + d log 2 - log K] lies in
    # [max + alpha (d log 2 - log K), max + alpha d log 2]
    lower = q.max(-1) + alpha * (d * math.log(2) - math.log(k))
    upper = q.max(-1) + alpha * d * math.log(2)
    assert np.all(v >= lower - 1e-12) and np.all(v <= upper + 1e-12)
    gaps.append(float(jnp.max(jnp.abs(v - q.max(-1)))))
  assert gaps[-1] < 1e-2 and gaps == sorted(gaps, reverse=True)


def test_soft_value_is_stable_for_large_values():
  q = jnp.array([[1e4, 1e4 - 1.0, -1e4]], jnp.float32)
  v = losses.soft_value(q, 0.1)
  expected = 1e4 + 0.1 * (math.log(1 + math.exp(-10.0)) - math.log(3))
  assert np.isfinite(v).all() and abs(float(v[0]) - expected) < 1e-2


def test_soft_value_per_state_alpha_and_proposal():
  q = jnp.array([[0.0, 1.0], [2.0, 2.0]])
  log_q = jnp.array([[0.0, math.log(2.0)], [0.0, 0.0]])
  v = losses.soft_value(q, jnp.array([1.0, 2.0]), log_q)
  expected = [math.log((1.0 + math.e / 2.0) / 2.0), 2.0 * (math.log(2 * math.e) - math.log(2))]
  np.testing.assert_allclose(v, expected, rtol=1e-6)


def test_targets_bootstrap_through_truncation_not_termination():
  rewards = jnp.array([1.0, 1.0, 1.0])
  next_values = jnp.array([10.0, 10.0, 10.0])
  terminals = jnp.array([0.0, 1.0, 0.0])  # the third is a time-limit truncation: not terminal
  y = losses.soft_q_targets(rewards, next_values, terminals, 0.9, reward_scale=2.0)
  np.testing.assert_allclose(y, [11.0, 2.0, 11.0])
  np.testing.assert_allclose(losses.ddpg_targets(rewards, next_values, terminals, 0.9),
                             [10.0, 1.0, 10.0])


def test_critic_loss_holds_target_fixed():
  q = jnp.array([1.0, 2.0])
  grad_q, grad_y = jax.grad(losses.soft_q_loss, argnums=(0, 1))(q, jnp.array([0.0, 4.0]))
  np.testing.assert_allclose(grad_q, [0.5, -1.0])
  np.testing.assert_allclose(grad_y, [0.0, 0.0])


def test_amortized_surrogate_gradient_is_direction_times_jacobian(x64):
  # u = f(w) = w * xi (elementwise); d(-loss)/dw = (1/N) sum phi * xi.
  xi = jax.random.normal(jax.random.key(2), (3, 4, 2), jnp.float64)
  phi = jax.random.normal(jax.random.key(3), (3, 4, 2), jnp.float64)
  grad = jax.grad(lambda w: losses.amortized_svgd_surrogate(w * xi, phi))(jnp.ones(2))
  np.testing.assert_allclose(-grad, jnp.sum(phi * xi, axis=(0, 1)) / 3.0, rtol=1e-12)


def test_ddpg_actor_loss():
  assert float(losses.ddpg_actor_loss(jnp.array([1.0, 3.0]))) == -2.0
  # Mean over the batch of the squared norm over action coordinates: (5 + 9 + 1) / 3 = 5 (the
  # other order, mean over coordinates of sums over the batch, gives (2 + 14) / 2 = 8).
  pre = jnp.array([[1.0, -2.0], [0.0, 3.0], [1.0, 0.0]])
  q = jnp.array([1.0, 3.0, 2.0])
  assert float(losses.ddpg_actor_loss(q, pre, 0.5)) == -2.0 + 2.5
  assert float(losses.ddpg_actor_loss(q, pre)) == -2.0  # no penalty unless one is given


def test_ddpg_preactivation_penalty_revives_a_saturated_actor():
  # A critic preferring a = -1 cannot move an actor saturated at tanh(100) = +1: the chain rule's
  # 1 - tanh^2 is exactly zero in float32. The penalty's gradient still points back.
  def loss(pre, penalty):
    q = -jnp.tanh(pre)[:, 0]
    return losses.ddpg_actor_loss(q, pre, penalty)
  pre = jnp.array([[100.0]])
  assert float(jax.grad(loss)(pre, 0.0)[0, 0]) == 0.0
  np.testing.assert_allclose(jax.grad(loss)(pre, 1e-3)[0, 0], 2e-3 * 100.0, rtol=1e-6)


def test_sac_alpha_loss_value_and_scalar_temperature():
  """`-mean(log α · (log π + target))`, and a non-scalar `log α` is refused (one temperature)."""
  log_probs = jnp.array([-1.0, 0.5, 2.0])
  np.testing.assert_allclose(losses.sac_alpha_loss(jnp.asarray(0.3), log_probs, -2.0),
                             -0.3 * np.mean([-3.0, -1.5, 0.0]), rtol=1e-6)
  with pytest.raises(AssertionError):
    losses.sac_alpha_loss(jnp.zeros(2), log_probs, -2.0)


def test_s2ac_losses_keep_float32_inputs_in_float32():
  """A float64 α (x64 enabled, as the identity tests run) does not promote float32 critic values
  to float64: targets and actor loss stay in the dtype of the rewards and log-probabilities."""
  with jax.enable_x64(True):
    q = jnp.ones((2, 3, 4), jnp.float32)
    log_probs = jnp.zeros((3, 4), jnp.float32)
    rewards = jnp.ones(3, jnp.float32)
    alpha = jnp.asarray(0.5, jnp.float64)
    assert losses.s2ac_targets(rewards, q, log_probs, jnp.zeros(3, jnp.float32), 0.9,
                               alpha).dtype == jnp.float32
    assert losses.s2ac_actor_loss(q, log_probs, alpha).dtype == jnp.float32


def test_twin_q_loss_sums_critics_of_batch_means():
  """`Σ_k mean_B (Q_k - y)²` on K = 2 critics and B = 3 states (not the mean over critics)."""
  q = jnp.array([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
  y = jnp.array([1.0, 1.0, 4.0])
  # critic 0: (1 + 0 + 4) / 3; critic 1: (0 + 0 + 9) / 3
  np.testing.assert_allclose(losses.twin_q_loss(q, y), 5.0 / 3.0 + 3.0, rtol=1e-6)


def test_soft_n_step_targets_keep_float32_inputs_in_float32():
  """Float32 rewards and flags give float32 targets with x64 enabled (flags are cast to the
  rewards' dtype, not to the default float)."""
  with jax.enable_x64(True):
    x = jnp.ones((4, 2), jnp.float32)
    targets = losses.soft_n_step_targets(x, 0 * x, x, jnp.zeros((4, 2), jnp.int32),
                                         jnp.zeros((4, 2), jnp.int32), 0.9, 0.1, 2)
    assert targets.dtype == jnp.float32


@pytest.mark.parametrize("name", ["soft_value", "soft_q_targets", "discrete_soft_value",
                                  "boltzmann_policy", "relative_entropy"])
def test_losses_keep_float32_inputs_in_float32(name):
  """With x64 enabled, float64 temperatures, integer flags and a float64 reference policy do not
  promote float32 values: each function returns the dtype of its values."""
  with jax.enable_x64(True):
    q = jnp.ones((3, 4), jnp.float32)
    t64 = jnp.asarray(0.5, jnp.float64)
    reference = jnp.log(jnp.array([0.4, 0.3, 0.2, 0.1], jnp.float64))
    calls = {
        "soft_value": lambda: losses.soft_value(q, t64),
        "soft_q_targets": lambda: losses.soft_q_targets(q[:, 0], q[:, 1],
                                                        jnp.zeros(3, jnp.int32), 0.9),
        "discrete_soft_value": lambda: losses.discrete_soft_value(q, t64, reference),
        "boltzmann_policy": lambda: losses.boltzmann_policy(q, t64, reference),
        "relative_entropy": lambda: losses.relative_entropy(jax.nn.log_softmax(q), reference),
    }
    assert calls[name]().dtype == jnp.float32
