"""Online n-step (soft) Q-learning with a target network and ε-greedy exploration (§6.2, §6.5).

`backup` picks the target (Eq. 81–83): "hard" (DQN, `max_a Q̄`, the `τ → 0` limit), "kl"
(`τ logsumexp(Q̄/τ) - τ log A`, KL penalty to uniform) or "entropy" (`τ logsumexp(Q̄/τ)`,
entropy bonus). `n_steps` = 1 or n; the KL terms of the n-step target (Eq. 46) are those of the
Boltzmann policy of the target network. Data come from parallel environments as in A3C's n-step
Q-learning (no replay buffer); all backups share one ε schedule.
"""

import dataclasses

import jax
import jax.numpy as jnp
import optax

from softq import losses
from softq.discrete import common
from softq.discrete import networks

BACKUPS = ("hard", "kl", "entropy")


@dataclasses.dataclass(frozen=True)
class Config(common.LearnerConfig):
  """Q-learning settings.

  Attributes:
    backup: one of `BACKUPS`.
    n_steps: target horizon >= 1.
    target_period: updates between target-network copies, >= 1.
    epsilon_start, epsilon_end: ε-greedy range in [0, 1].
    epsilon_updates: updates over which ε decays linearly, >= 1.
  """
  backup: str = "kl"
  n_steps: int = 1
  target_period: int = 100
  epsilon_start: float = 1.0
  epsilon_end: float = 0.05
  epsilon_updates: int = 1000

  def __post_init__(self):
    super().__post_init__()
    if self.backup not in BACKUPS:
      raise ValueError(f"backup must be one of {BACKUPS}, got {self.backup!r}")
    common.check_positive(self, "n_steps", "target_period", "epsilon_updates")
    for name in ("epsilon_start", "epsilon_end"):
      if not 0.0 <= getattr(self, name) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


def network(config: Config, num_actions: int) -> networks.QNetwork:
  return networks.QNetwork(num_actions, config.hidden)


def init(config: Config, key: jax.Array, obs_size: int, num_actions: int) -> common.AgentState:
  """Fresh learner state (target = online parameters)."""
  params = networks.init_params(network(config, num_actions), key, obs_size)
  opt_state = common.make_optimizer(config).init(params)
  return common.AgentState(params, params, opt_state, jnp.zeros((), jnp.int32))


def epsilon(config: Config, step: jax.Array) -> jax.Array:
  """Linearly decayed exploration rate at update `step`."""
  frac = jnp.minimum(step / config.epsilon_updates, 1.0)
  return config.epsilon_start + frac * (config.epsilon_end - config.epsilon_start)


def act(config: Config, state: common.AgentState, obs: jax.Array, key: jax.Array,
        num_actions: int) -> jax.Array:
  """ε-greedy with respect to the online Q, `[E, D] -> [E]`."""
  q = network(config, num_actions).apply(state.params, obs)
  key_explore, key_random = jax.random.split(key)
  explore = jax.random.uniform(key_explore, q.shape[:-1]) < epsilon(config, state.step)
  random = jax.random.randint(key_random, q.shape[:-1], 0, num_actions)
  return jnp.where(explore, random, jnp.argmax(q, axis=-1))


def targets(config: Config, target_params, rollout: common.Rollout, num_actions: int):
  """Q targets `[T, E]` for the configured backup (Eq. 45–46, 81–83)."""
  apply = network(config, num_actions).apply
  next_q = apply(target_params, rollout.next_obs)
  if config.backup == "hard":
    next_values = jnp.max(next_q, axis=-1)
    kls = jnp.zeros_like(next_values)
  else:
    log_reference = None if config.backup == "kl" else 0.0
    next_values = losses.discrete_soft_value(next_q, config.tau, log_reference)
    log_probs = losses.boltzmann_policy(apply(target_params, rollout.obs), config.tau)
    kls = losses.relative_entropy(log_probs, log_reference)
  return losses.soft_n_step_targets(
      rollout.rewards, kls, next_values, rollout.terminals, rollout.dones, config.discount,
      config.tau, config.n_steps)


def update(config: Config, state: common.AgentState, rollout: common.Rollout, num_actions: int):
  """One gradient step of `½(Q(s_t, a_t) - y_t)²` (Eq. 44); returns `(state, metrics)`."""
  y = targets(config, state.target_params, rollout, num_actions)

  def loss(params):
    q = network(config, num_actions).apply(params, rollout.obs)
    q_taken = jnp.take_along_axis(q, rollout.actions[..., None], axis=-1)[..., 0]
    return 0.5 * jnp.mean(jnp.square(q_taken - y)), jnp.mean(q_taken)

  (value, mean_q), grads = jax.value_and_grad(loss, has_aux=True)(state.params)
  updates, opt_state = common.make_optimizer(config).update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  step = state.step + 1
  copy = step % config.target_period == 0
  target_params = jax.tree.map(lambda p, t: jnp.where(copy, p, t), params, state.target_params)
  state = common.AgentState(params, target_params, opt_state, step)
  return state, {"q_loss": value, "mean_q": mean_q, "epsilon": epsilon(config, step)}
