"""Pure loss and target functions of maximum-entropy RL — the public library (§1–§3, §6).

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
  `-grad_params loss = E[phi(u) d f_params / d params]` (Haarnoja et al. 2017, Eq. 13–14). Minimise
  it.

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


def ddpg_actor_loss(q_values: jax.Array, preactivation: jax.Array | None = None,
                    penalty=0.0) -> jax.Array:
  """DDPG actor loss `-mean Q(s, mu(s))`, `[B] -> scalar`; critic parameters frozen (§2.9).

  With `preactivation` `[B, d]` (the actor's output before its tanh) adds
  `penalty * mean_b ||preactivation_b||^2`, which keeps the tanh out of saturation, where its
  gradient `1 - tanh^2` vanishes (in float32 exactly zero beyond |x| ~ 9) and the actor can no
  longer follow the critic.
  """
  chex.assert_rank(q_values, 1)
  loss = -jnp.mean(q_values)
  if preactivation is None:
    return loss
  chex.assert_rank(preactivation, 2)
  return loss + penalty * jnp.mean(jnp.sum(jnp.square(preactivation), axis=-1))


# --------------------------------------------------------------------------------------------
# Policy gradients ≡ soft Q-learning, discrete actions (§6; Schulman et al. 2017)
#
# `A` is the number of actions, `T` the rollout length, `...` any batch axes (e.g. envs).
# `log_reference` is `log π̄`: `None` = uniform (KL-penalty convention, Eq. 82); `0.0` = the
# counting measure, for which `KL(π‖1) = -H(π)` and `τ logsumexp(Q/τ)` is the value
# (entropy-bonus convention, Eq. 83). Both conventions are thus one formula.


def discrete_soft_value(q: jax.Array, tau, log_reference=None) -> jax.Array:
  """Soft value `V_Q = τ logsumexp(Q/τ + log π̄)` over the last axis (§6.1, Eq. 29).

  Args:
    q: `[..., A]`.
    tau: temperature > 0, scalar or `[...]`.
    log_reference: `log π̄`, broadcastable to `[..., A]`; `None` = uniform
      (`τ logsumexp(Q/τ) - τ log A`); `0.0` = entropy-bonus value `τ logsumexp(Q/τ)`.
  Returns:
    `[...]`.
  """
  tau = jnp.asarray(tau, dtype=q.dtype)[..., None]
  return tau[..., 0] * jax.nn.logsumexp(q / tau + _log_reference(q, log_reference), axis=-1)


def boltzmann_policy(q: jax.Array, tau, log_reference=None) -> jax.Array:
  """Log-probabilities of `π_Q(a|s) = π̄(a|s) exp((Q(s, a) - V_Q(s))/τ)` (§6.1, Eq. 30).

  Args:
    q: `[..., A]`.
    tau: temperature > 0, scalar or `[...]`.
    log_reference: `log π̄` as in `discrete_soft_value` (any constant gives the same policy).
  Returns:
    `[..., A]`, normalised log-probabilities.
  """
  tau = jnp.asarray(tau, dtype=q.dtype)[..., None]
  return jax.nn.log_softmax(q / tau + _log_reference(q, log_reference), axis=-1)


def relative_entropy(log_probs: jax.Array, log_reference=None) -> jax.Array:
  """`KL(π‖π̄) = Σ_a π(a) (log π(a) - log π̄(a))` over the last axis (§6.1).

  Args:
    log_probs: `[..., A]`, normalised log-probabilities of `π`.
    log_reference: `log π̄`; `None` = uniform; `0.0` gives `-H(π)` (entropy-bonus convention).
  Returns:
    `[...]`.
  """
  probs = jnp.exp(log_probs)
  return jnp.sum(probs * (log_probs - _log_reference(log_probs, log_reference)), axis=-1)


def soft_n_step_targets(
    rewards: jax.Array,
    kls: jax.Array,
    next_values: jax.Array,
    terminals: jax.Array,
    dones: jax.Array,
    discount: float,
    tau,
    n_steps: int | None = None,
) -> jax.Array:
  """n-step soft Q-learning targets along a rollout (§6.2, Eq. 45–46).

  `y_t = τ KL_t + Σ_{d<h} γ^d (r_{t+d} - τ KL_{t+d}) + γ^h V(s_{t+h})`, where the horizon `h`
  stops at `n_steps`, at the end of the rollout, or at the end of the episode (then the
  bootstrap is dropped if the episode truly terminated, kept at a time-limit truncation).
  `n_steps = 1` gives the 1-step target `r_t + γ V(s_{t+1})` (Eq. 45); `None` bootstraps
  every step from the end of the rollout (A3C-style). Gradients are stopped.
  Convention: KL penalty — `kls = relative_entropy(log π)`, `next_values =
  discrete_soft_value(Q̄, τ)`; entropy bonus — both with `log_reference=0.0`; hard Q-learning —
  `kls = 0`, `next_values = max_a Q̄`.

  Args:
    rewards: `[T, ...]`.
    kls: `KL(π(·|s_t)‖π̄)`, `[T, ...]`.
    next_values: `V(s_{t+1})` at the true successor (the final observation at episode ends),
      `[T, ...]`.
    terminals: `[T, ...]`, 1 where the transition ended the episode by termination.
    dones: `[T, ...]`, 1 where the episode ended (termination or truncation).
    discount: `γ`.
    tau: temperature, scalar or broadcastable to `[T, ...]`.
    n_steps: horizon `n >= 1` or `None` (to the end of the rollout).
  Returns:
    `[T, ...]`.
  """
  chex.assert_equal_shape([rewards, kls, next_values, terminals, dones])
  length = rewards.shape[0]
  horizon = length if n_steps is None else min(n_steps, length)
  dtype = rewards.dtype
  penalised = rewards - tau * kls
  not_terminal = 1.0 - terminals.astype(dtype)
  time = jnp.arange(length).reshape((length,) + (1,) * (rewards.ndim - 1))
  targets = tau * kls
  alive = jnp.ones_like(rewards)
  for d in range(horizon):
    shifted = [_shift(x, d) for x in (penalised, next_values, not_terminal, dones.astype(dtype))]
    step_reward, step_next_value, step_not_terminal, step_done = shifted
    valid = alive * (time + d < length)
    last = jnp.maximum(step_done, (time + d == length - 1) | (d == horizon - 1))
    targets += valid * discount**d * step_reward
    targets += valid * last * discount ** (d + 1) * step_not_terminal * step_next_value
    alive = valid * (1.0 - last)
  return jax.lax.stop_gradient(targets)


def entropy_regularised_returns(
    rewards, kls, next_values, terminals, dones, discount, tau, n_steps=None
) -> jax.Array:
  """Value targets `V̂_t = Σ_{d<h} γ^d (r_{t+d} - τ KL_{t+d}) + γ^h V(s_{t+h})` (§6.3, Eq. 54).

  Equals `soft_n_step_targets(...) - τ KL_t`. With `tau = 0` (or `kls = 0`) these are the plain
  reward returns of naive A2C. Arguments as in `soft_n_step_targets`; returns `[T, ...]`.
  """
  targets = soft_n_step_targets(rewards, kls, next_values, terminals, dones, discount, tau, n_steps)
  return targets - jax.lax.stop_gradient(tau * kls)


def entropy_regularised_pg_loss(
    log_probs: jax.Array, actions: jax.Array, returns: jax.Array, values: jax.Array, tau,
    log_reference=None,
) -> jax.Array:
  """Surrogate `mean[-log π(a_t|s_t) (V̂_t - V(s_t)) + τ KL(π‖π̄)(s_t)]` (§6.3, Eq. 84).

  Its gradient is the entropy-regularised policy gradient; returns and values are held fixed.

  Args:
    log_probs: `[..., A]`, normalised log-probabilities of `π_θ`.
    actions: `[...]` int.
    returns: `V̂_t`, `[...]`.
    values: `V(s_t)`, `[...]` (baseline).
    tau: temperature.
    log_reference: `log π̄` (see `relative_entropy`).
  Returns:
    scalar.
  """
  chex.assert_equal_shape([actions, returns, values])
  taken = jnp.take_along_axis(log_probs, actions[..., None], axis=-1)[..., 0]
  advantages = jax.lax.stop_gradient(returns - values)
  kl = relative_entropy(log_probs, log_reference)
  return jnp.mean(-taken * advantages + tau * kl)


def naive_pg_loss(
    log_probs, actions, values, rewards, next_values, terminals, dones, discount, tau,
    log_reference=None, n_steps=None,
) -> jax.Array:
  """Naive entropy-regularised PG: one-step KL bonus, reward-only returns (§6.3, Eq. 79).

  Args:
    log_probs: `[T, ..., A]`; actions, values, rewards, next_values, terminals, dones:
      `[T, ...]` (see `soft_n_step_targets`); discount `γ`; tau `τ`; log_reference `log π̄`;
      n_steps horizon.
  Returns:
    scalar surrogate loss.
  """
  zeros = jnp.zeros_like(rewards)
  returns = entropy_regularised_returns(
      rewards, zeros, next_values, terminals, dones, discount, 0.0, n_steps)
  return entropy_regularised_pg_loss(log_probs, actions, returns, values, tau, log_reference)


def proper_pg_loss(
    log_probs, actions, values, rewards, next_values, terminals, dones, discount, tau,
    log_reference=None, n_steps=None,
) -> jax.Array:
  """Proper entropy-regularised PG: KL penalties inside the returns (§6.3, Eq. 80).

  Arguments as in `naive_pg_loss`; the future `KL_{t+d}` are those of `π_θ` (held fixed).
  Returns a scalar surrogate loss.
  """
  kls = jax.lax.stop_gradient(relative_entropy(log_probs, log_reference))
  returns = entropy_regularised_returns(
      rewards, kls, next_values, terminals, dones, discount, tau, n_steps)
  return entropy_regularised_pg_loss(log_probs, actions, returns, values, tau, log_reference)


def a2c_value_loss(values: jax.Array, returns: jax.Array) -> jax.Array:
  """A2C value loss `mean ½ (V(s_t) - V̂_t)²` with `V̂` held fixed (§6.3, Eq. 85).

  Args:
    values: `[...]`.
    returns: `[...]`.
  Returns:
    scalar.
  """
  chex.assert_equal_shape([values, returns])
  return 0.5 * jnp.mean(jnp.square(values - jax.lax.stop_gradient(returns)))


def _log_reference(x: jax.Array, log_reference) -> jax.Array:
  """`log π̄` as an array broadcastable to `x` (`None` = uniform `-log A`)."""
  if log_reference is None:
    return jnp.asarray(-math.log(x.shape[-1]), dtype=x.dtype)
  return jnp.asarray(log_reference, dtype=x.dtype)


def _shift(x: jax.Array, d: int) -> jax.Array:
  """`x[t + d]` along axis 0, zero-padded past the end; `[T, ...] -> [T, ...]`."""
  if d == 0:
    return x
  return jnp.concatenate([x[d:], jnp.zeros_like(x[:d])], axis=0)


# --------------------------------------------------------------------------------------------
# Stein Soft Actor-Critic (S2AC, §3.4–§3.5) and SAC (§3.8)
#
# Shapes: `K` critics (twin: 2), `B` batch, `m` policy particles per state. The agent evaluates
# its critics and policy and passes the arrays in: particle log-probabilities come from
# `softq.stein.stein_policy` (S2AC, §3.1–§3.3) or `softq.distributions.tanh_gaussian_log_prob`
# (SAC); scores for the sampler from `softq.stein.action_value_score(q_fn, alpha)`. The
# temperature is a constant of these losses (stop-gradient); tune it with `sac_alpha_loss`.


def s2ac_targets(
    rewards: jax.Array,
    next_q_values: jax.Array,
    next_log_probs: jax.Array,
    terminals: jax.Array,
    discount: float,
    alpha,
) -> jax.Array:
  """S2AC critic targets over `m` fresh next-state particles (§3.4, Eq. 8).

  `y = r + gamma (1 - terminal) [(1/m) sum_i min_k Qbar_k(s', a'_i)
                                  - alpha (1/m) sum_i log pi(a'_i|s')]`.
  Truncations are not terminal. Gradients are stopped.

  Args:
    rewards: `[B]`.
    next_q_values: target critics at the particles `a'_i ~ pi(.|s')`, `[K, B, m]`.
    next_log_probs: `log pi(a'_i|s')`, `[B, m]`.
    terminals: `[B]`, 1 where the episode truly ended.
    discount: `gamma`.
    alpha: temperature, scalar or `[B]`.
  Returns:
    `[B]`.
  """
  chex.assert_rank([next_q_values, next_log_probs], [3, 2])
  chex.assert_equal_shape([next_q_values[0], next_log_probs])
  alpha = jnp.asarray(alpha, dtype=rewards.dtype)
  soft_next = jnp.mean(jnp.min(next_q_values, axis=0) - alpha[..., None] * next_log_probs, axis=-1)
  return soft_q_targets(rewards, soft_next, terminals, discount)


def twin_q_loss(q_values: jax.Array, targets: jax.Array) -> jax.Array:
  """`sum_k mean_B (Q_k(s, a) - y)^2` with the target held fixed (§3.4, §3.8).

  Args:
    q_values: `[K, B]`.
    targets: `[B]`.
  Returns:
    scalar.
  """
  chex.assert_rank(q_values, 2)
  chex.assert_equal_shape([q_values[0], targets])
  return jnp.sum(jnp.mean(jnp.square(q_values - jax.lax.stop_gradient(targets)), axis=-1))


def s2ac_critic_loss(
    q_values: jax.Array,
    rewards: jax.Array,
    next_q_values: jax.Array,
    next_log_probs: jax.Array,
    terminals: jax.Array,
    discount: float,
    alpha,
) -> jax.Array:
  """S2AC twin-critic loss `sum_k E[(Q_k(s, a) - y)^2]` with `y` of `s2ac_targets` (§3.4).

  Args:
    q_values: online critics at the replayed `(s, a)`, `[K, B]`.
    rewards: `[B]`.
    next_q_values: target critics at next-state particles, `[K, B, m]`.
    next_log_probs: `[B, m]`.
    terminals: `[B]`.
    discount: `gamma`.
    alpha: temperature.
  Returns:
    scalar.
  """
  targets = s2ac_targets(
      rewards, next_q_values, next_log_probs, terminals, discount, jax.lax.stop_gradient(alpha))
  return twin_q_loss(q_values, targets)


def s2ac_actor_loss(q_values: jax.Array, log_probs: jax.Array, alpha) -> jax.Array:
  """S2AC actor loss `E_s[(1/m) sum_i (alpha log pi(a_i|s) - min_k Q_k(s, a_i))]` (§3.5, Eq. 9).

  Differentiate w.r.t. the initial-distribution parameters only: the gradient flows through the
  particles (reparameterised `u^0`, all SVGD steps), `log q^0` and the log-density increments;
  the critic parameters are held fixed by the caller.

  Args:
    q_values: critics at the policy's particles, `[K, B, m]`.
    log_probs: `log pi(a_i|s)`, `[B, m]`.
    alpha: temperature, scalar or `[B]` (stop-gradient).
  Returns:
    scalar.
  """
  chex.assert_rank([q_values, log_probs], [3, 2])
  chex.assert_equal_shape([q_values[0], log_probs])
  alpha = jax.lax.stop_gradient(jnp.asarray(alpha, dtype=log_probs.dtype))
  return jnp.mean(alpha[..., None] * log_probs - jnp.min(q_values, axis=0))


def sac_targets(
    rewards: jax.Array,
    next_q_values: jax.Array,
    next_log_probs: jax.Array,
    terminals: jax.Array,
    discount: float,
    alpha,
) -> jax.Array:
  """SAC targets `y = r + gamma (1 - terminal)(min_k Qbar_k(s', a') - alpha log pi(a'|s'))` (§3.8).

  Args:
    rewards: `[B]`.
    next_q_values: target critics at one fresh `a' ~ pi(.|s')`, `[K, B]`.
    next_log_probs: `[B]`.
    terminals: `[B]`.
    discount: `gamma`.
    alpha: temperature, scalar or `[B]`.
  Returns:
    `[B]` (gradient stopped).
  """
  chex.assert_rank(next_q_values, 2)
  chex.assert_equal_shape([rewards, next_q_values[0], next_log_probs, terminals])
  soft_next = jnp.min(next_q_values, axis=0) - alpha * next_log_probs
  return soft_q_targets(rewards, soft_next, terminals, discount)


def sac_critic_loss(
    q_values: jax.Array,
    rewards: jax.Array,
    next_q_values: jax.Array,
    next_log_probs: jax.Array,
    terminals: jax.Array,
    discount: float,
    alpha,
) -> jax.Array:
  """SAC twin-critic loss `sum_k E[(Q_k(s, a) - y)^2]`, `y` of `sac_targets` (§3.8).

  Args:
    q_values: `[K, B]`.
    rewards: `[B]`.
    next_q_values: `[K, B]`.
    next_log_probs: `[B]`.
    terminals: `[B]`.
    discount: `gamma`.
    alpha: temperature.
  Returns:
    scalar.
  """
  targets = sac_targets(
      rewards, next_q_values, next_log_probs, terminals, discount, jax.lax.stop_gradient(alpha))
  return twin_q_loss(q_values, targets)


def sac_actor_loss(q_values: jax.Array, log_probs: jax.Array, alpha) -> jax.Array:
  """SAC actor loss `E_s[alpha log pi(a|s) - min_k Q_k(s, a)]`, `a` reparameterised (§3.8).

  Args:
    q_values: critics at the policy's action, `[K, B]`.
    log_probs: `[B]`.
    alpha: temperature (stop-gradient).
  Returns:
    scalar.
  """
  chex.assert_rank(q_values, 2)
  chex.assert_equal_shape([q_values[0], log_probs])
  alpha = jax.lax.stop_gradient(alpha)
  return jnp.mean(alpha * log_probs - jnp.min(q_values, axis=0))


def sac_alpha_loss(log_alpha: jax.Array, log_probs: jax.Array, target_entropy: float) -> jax.Array:
  """Automatic temperature loss `-mean(log alpha * stop_grad(log pi + target_entropy))` (§3.8).

  Minimising it raises `alpha` when the policy entropy `-E log pi` is below `target_entropy`.

  Args:
    log_alpha: scalar, the trained parameter.
    log_probs: `log pi(a|s)` of fresh policy samples, any shape (`[B]` or `[B, m]` for S2AC).
    target_entropy: usually `sac_target_entropy(d) = -d`.
  Returns:
    scalar.
  """
  chex.assert_rank(log_alpha, 0)
  return -jnp.mean(log_alpha * jax.lax.stop_gradient(log_probs + target_entropy))


def sac_target_entropy(action_dim: int) -> float:
  """Default target entropy `-d` for automatic temperature tuning (§3.8)."""
  return -float(action_dim)
