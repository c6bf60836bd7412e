"""Exact identities of §6.1 and §6.4: the soft value identity, and soft Q-learning's gradient
equals the entropy-regularised policy gradient plus a value-error gradient (bandit Eq. 23, MDP
Eq. 65), by `jax.grad` of both sides with exact expectations over actions (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from softq import losses

TOL = 1e-6


def _random_log_reference(key, shape):
  return jax.nn.log_softmax(jax.random.normal(key, shape, jnp.float64))


def _q_function(theta, features):
  """A small nonlinear Q: `features [..., F] -> [...]`."""
  hidden = jnp.tanh(features @ theta["w1"] + theta["b1"])
  return hidden @ theta["w2"]


def _theta(key, num_features, width=5):
  k1, k2, k3 = jax.random.split(key, 3)
  return {"w1": jax.random.normal(k1, (num_features, width), jnp.float64),
          "b1": jax.random.normal(k2, (width,), jnp.float64),
          "w2": jax.random.normal(k3, (width,), jnp.float64)}


@pytest.mark.parametrize("tau", [0.05, 0.7, 3.0])
def test_soft_value_identity(x64, tau):
  """`V_Q = E_{π_Q}[Q] - τ KL(π_Q‖π̄)` for random Q and π̄, uniform π̄, and the entropy form."""
  kq, kr = jax.random.split(jax.random.key(0))
  q = 3.0 * jax.random.normal(kq, (6, 5), jnp.float64)
  for log_reference in (_random_log_reference(kr, (6, 5)), None, 0.0):
    log_pi = losses.boltzmann_policy(q, tau, log_reference)
    expected = jnp.sum(jnp.exp(log_pi) * q, -1) - tau * losses.relative_entropy(
        log_pi, log_reference)
    np.testing.assert_allclose(losses.discrete_soft_value(q, tau, log_reference), expected,
                               atol=TOL, rtol=0)
  uniform = losses.discrete_soft_value(q, tau)
  np.testing.assert_allclose(uniform, tau * jax.nn.logsumexp(q / tau, -1) - tau * np.log(5),
                             atol=TOL, rtol=0)
  np.testing.assert_allclose(jnp.sum(jnp.exp(losses.boltzmann_policy(q, tau)), -1), 1.0,
                             atol=TOL, rtol=0)


@pytest.mark.parametrize("tau", [0.1, 1.3])
def test_bandit_identity_eq23(x64, tau):
  """Eq. 23: `∇ E_{a~π}[½(q(a) - r̄(a))²]|_{π=π_q} = -τ ∇(E_{π_q}[r̄] - τ KL) + ∇ value error`."""
  kf, kt, kr, kb = jax.random.split(jax.random.key(1), 4)
  num_actions = 4
  features = jax.random.normal(kf, (num_actions, 3), jnp.float64)
  theta = _theta(kt, 3)
  mean_reward = jax.random.normal(kr, (num_actions,), jnp.float64)
  log_reference = _random_log_reference(kb, (num_actions,))

  def policy(theta):
    q = _q_function(theta, features)
    return q, losses.boltzmann_policy(q, tau, log_reference)

  def q_regression(theta):
    q, log_pi = policy(theta)
    weights = jax.lax.stop_gradient(jnp.exp(log_pi))
    return jnp.sum(weights * 0.5 * jnp.square(q - mean_reward))

  def pg_plus_value(theta):
    q, log_pi = policy(theta)
    kl = losses.relative_entropy(log_pi, log_reference)
    objective = jnp.sum(jnp.exp(log_pi) * mean_reward) - tau * kl
    v = losses.discrete_soft_value(q, tau, log_reference)
    weights = jax.lax.stop_gradient(jnp.exp(log_pi))
    target = jax.lax.stop_gradient(mean_reward - tau * kl)
    return -tau * objective + jnp.sum(weights * 0.5 * jnp.square(v - target))

  lhs, rhs = jax.grad(q_regression)(theta), jax.grad(pg_plus_value)(theta)
  for key in theta:
    np.testing.assert_allclose(lhs[key], rhs[key], atol=TOL, rtol=0)


def _small_mdp(key, num_states, num_actions):
  kp, kr, kd = jax.random.split(key, 3)
  transitions = jax.nn.softmax(
      2.0 * jax.random.normal(kp, (num_states, num_actions, num_states), jnp.float64), -1)
  rewards = jax.random.normal(kr, (num_states, num_actions), jnp.float64)
  state_weights = jax.nn.softmax(jax.random.normal(kd, (num_states,), jnp.float64))
  return transitions, rewards, state_weights


@pytest.mark.parametrize("n_steps", [1, 3])
def test_mdp_identity_eq65(x64, n_steps):
  """Eq. 65: n-step soft Q regression gradient = `-τ∇log π Δ + τ²∇KL + ∇½(V - V̂)²` in
  expectation over `a ~ π_θ`, on a tabular MDP with exact n-step targets (Eq. 46, `Q̄ = Q_θ`)."""
  num_states, num_actions, tau, discount = 4, 3, 0.4, 0.9
  kf, kt, km, kb = jax.random.split(jax.random.key(2), 4)
  features = jax.random.normal(kf, (num_states, num_actions, 3), jnp.float64)
  theta = _theta(kt, 3)
  transitions, rewards, state_weights = _small_mdp(km, num_states, num_actions)
  log_reference = _random_log_reference(kb, (num_states, num_actions))

  def heads(theta):
    q = _q_function(theta, features)
    log_pi = losses.boltzmann_policy(q, tau, log_reference)
    return (q, losses.discrete_soft_value(q, tau, log_reference), log_pi,
            losses.relative_entropy(log_pi, log_reference))

  def exact_targets(theta):
    """`y(s, a)` of Eq. 46, in expectation, with later actions from `π_θ`; held fixed."""
    _, v, log_pi, kl = jax.lax.stop_gradient(heads(theta))
    pi = jnp.exp(log_pi)
    policy_transitions = jnp.einsum("sa,sat->st", pi, transitions)
    policy_rewards = jnp.sum(pi * rewards, -1) - tau * kl
    y = rewards                                # tau KL_t + (r_t - tau KL_t)
    occupancy = transitions                    # distribution of s_{t+d}, [S, A, S]
    for d in range(1, n_steps):
      y = y + discount**d * occupancy @ policy_rewards
      occupancy = occupancy @ policy_transitions
    return y + discount**n_steps * occupancy @ v

  y = exact_targets(theta)

  def q_regression(theta):
    q, _, log_pi, _ = heads(theta)
    weights = state_weights[:, None] * jax.lax.stop_gradient(jnp.exp(log_pi))
    return jnp.sum(weights * 0.5 * jnp.square(q - y))

  def pg_plus_value(theta):
    _, v, log_pi, kl = heads(theta)
    _, v_fixed, _, kl_fixed = jax.lax.stop_gradient(heads(theta))
    advantage = y - tau * kl_fixed[:, None] - v_fixed[:, None]      # Δ_t, Eq. 47
    weights = state_weights[:, None] * jax.lax.stop_gradient(jnp.exp(log_pi))
    policy = jnp.sum(weights * (-tau * log_pi * advantage)) + tau**2 * jnp.sum(state_weights * kl)
    value = jnp.sum(weights * 0.5 * jnp.square(v[:, None] - (v_fixed[:, None] + advantage)))
    return policy + value

  lhs, rhs = jax.grad(q_regression)(theta), jax.grad(pg_plus_value)(theta)
  for key in theta:
    np.testing.assert_allclose(lhs[key], rhs[key], atol=TOL, rtol=0)
    assert np.max(np.abs(lhs[key])) > 1e-3   # the identity is not trivially 0 = 0
