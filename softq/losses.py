"""Pure loss and target functions of maximum-entropy RL — the public library (spec §1–§3, §6).

Every function is pure, jittable and documents its shapes; shapes are checked with chex.
Conventions: `B` batch, `K` proposal samples per state, `m` particles per state, `d` action
dimension. Rewards, values and targets are float arrays of the same dtype.
"""

import math

import chex
import jax
import jax.numpy as jnp


# --------------------------------------------------------------------------------------------
# Soft Q-learning (§2)


def soft_value(q_values: jax.Array, alpha, log_proposal=0.0) -> jax.Array:
  """Importance-sampled soft value `V(s) = alpha log E_q[exp(Q(s, a)/alpha) / q(a)]` (§2.1, §1.2).

  `V = alpha [logsumexp_k(Q(s, a_k)/alpha - log q(a_k)) - log K]` with `a_k ~ q`. With the uniform
  proposal on `[-1, 1]^d` pass `log_proposal = uniform_box_log_density(d)`; then `V` estimates
  `alpha log int_box exp(Q/alpha) da`. As `alpha -> 0`, `V -> max_k Q` (hard Bellman).

  Args:
    q_values: `[..., K]`, Q at the K proposal samples of each state.
    alpha: temperature > 0, scalar or `[...]`.
    log_proposal: log-density of each proposal sample, broadcastable to `[..., K]`.
  Returns:
    `[...]`.
  """
  num_samples = q_values.shape[-1]
  alpha = jnp.asarray(alpha, dtype=q_values.dtype)
  scaled = q_values / alpha[..., None] - log_proposal
  return alpha * (jax.nn.logsumexp(scaled, axis=-1) - math.log(num_samples))


def uniform_box_log_density(action_dim: int) -> float:
  """Log-density `-d log 2` of the uniform distribution on `[-1, 1]^d` (§2.1 default proposal)."""
  return -action_dim * math.log(2.0)


def soft_q_targets(
    rewards: jax.Array,
    next_values: jax.Array,
    terminals: jax.Array,
    discount: float,
    reward_scale=1.0,
) -> jax.Array:
  """Soft Bellman targets `y = reward_scale * r + discount (1 - terminal) V(s')` (§2.2).

  `terminals` marks true terminations only: a time-limit truncation is *not* terminal, its
  target bootstraps through `V(s')` computed at the real final observation.
  Gradients are stopped (the target is a constant of the critic loss).

  Args:
    rewards: `[B]`.
    next_values: `V_target(s')`, `[B]` (e.g. from `soft_value` with target parameters).
    terminals: `[B]`, 1 where the episode truly ended (bool or float).
    discount: `gamma` in [0, 1].
    reward_scale: multiplies the reward; `alpha`-explicit SQL with temperature `alpha` equals
      `alpha = 1`, `reward_scale = 1/alpha` SQL with `Q` scaled by `1/alpha` (§2.1).
  Returns:
    `[B]`.
  """
  chex.assert_equal_shape([rewards, next_values, terminals])
  not_done = 1.0 - terminals.astype(rewards.dtype)
  return jax.lax.stop_gradient(reward_scale * rewards + discount * not_done * next_values)


def soft_q_loss(q_values: jax.Array, targets: jax.Array) -> jax.Array:
  """Critic loss `J_Q = mean 0.5 (Q(s, a) - y)^2` with the target held fixed (§2.2).

  Args:
    q_values: `[B]`.
    targets: `[B]`.
  Returns:
    scalar.
  """
  chex.assert_equal_shape([q_values, targets])
  return 0.5 * jnp.mean(jnp.square(q_values - jax.lax.stop_gradient(targets)))


def amortized_svgd_surrogate(particles: jax.Array, directions: jax.Array) -> jax.Array:
  """Loss whose gradient moves a sampler's outputs along SVGD directions (§2.6).

  Returns `-(1/N) sum <stop_grad(phi(u_i)), u_i>` averaged over the leading axes (N = their
  size) and summed over particles and action dimensions, so that
  `-grad_params loss = E[phi(u) d f_params / d params]` (seed 000 Eq. 13–14). Minimise it.

  Args:
    particles: sampler outputs `u_i = f(s, xi_i)`, `[..., m, d]` (differentiable).
    directions: SVGD directions at those particles, `[..., m, d]` (gradient stopped here).
  Returns:
    scalar.
  """
  chex.assert_equal_shape([particles, directions])
  num_sets = math.prod(particles.shape[:-2])
  inner = jnp.sum(jax.lax.stop_gradient(directions) * particles)
  return -inner / num_sets


# --------------------------------------------------------------------------------------------
# DDPG, the deterministic special case (§2.9)


def ddpg_targets(
    rewards: jax.Array, next_q_values: jax.Array, terminals: jax.Array, discount: float
) -> jax.Array:
  """Hard Bellman targets `y = r + discount (1 - terminal) Q_target(s', mu_target(s'))` (§2.9).

  Truncations are not terminal (bootstrap through them). Gradients are stopped.

  Args:
    rewards: `[B]`.
    next_q_values: `[B]`.
    terminals: `[B]`.
    discount: `gamma`.
  Returns:
    `[B]`.
  """
  return soft_q_targets(rewards, next_q_values, terminals, discount)


def ddpg_critic_loss(q_values: jax.Array, targets: jax.Array) -> jax.Array:
  """DDPG critic loss `mean 0.5 (Q - y)^2`, `[B], [B] -> scalar` (§2.9)."""
  return soft_q_loss(q_values, targets)


def ddpg_actor_loss(q_values: jax.Array) -> jax.Array:
  """DDPG actor loss `-mean Q(s, mu(s))`, `[B] -> scalar`; critic parameters frozen (§2.9)."""
  chex.assert_rank(q_values, 1)
  return -jnp.mean(q_values)
