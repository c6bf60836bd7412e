"""Online n-step (soft) Q-learning with a target network and ε-greedy exploration (§6.2, §6.5).

`backup` picks the target (Eq. 81–83): "hard" (DQN, `max_a Q̄`, the `τ → 0` limit), "kl"
(`τ logsumexp(Q̄/τ) - τ log A`, KL penalty to uniform) or "entropy" (`τ logsumexp(Q̄/τ)`,
entropy bonus). `n_steps` = 1 or n; the KL terms of the n-step target (Eq. 46) are those of the
Boltzmann policy of the target network. Data come from parallel environments as in A3C's n-step
Q-learning (no replay buffer); all backups share one ε schedule. The update is deterministic
given the rollout, so `TrainState` carries no key (the on-policy loop, `softq.train.onpolicy`,
keys acting).
"""

import dataclasses
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from softq import losses, networks
from softq.agents import common
from softq.agents import discrete_common

BACKUPS = ("hard", "kl", "entropy")
KIND = "discrete"
# The optimizer is a clipped Adam whose rate is not in its state: nothing is swept per run.
SWEEPABLE = {}


@dataclasses.dataclass(frozen=True)
class Config(discrete_common.LearnerConfig):
  """Q-learning settings.

  Attributes:
    backup: one of `BACKUPS`.
    n_steps: target horizon >= 1.
    target_update_period: updates between target-network copies, >= 1.
    epsilon_start, epsilon_end: ε-greedy range in [0, 1].
    epsilon_updates: updates over which ε decays linearly, >= 1.
  """
  backup: str = "kl"
  n_steps: int = 1
  target_update_period: int = 100
  epsilon_start: float = 1.0
  epsilon_end: float = 0.05
  epsilon_updates: int = 1000

  def __post_init__(self):
    super().__post_init__()
    common.check(self.backup in BACKUPS, "backup", f"one of {', '.join(BACKUPS)}", self.backup)
    common.check_positive(self, "n_steps", "target_update_period", "epsilon_updates")
    for name in ("epsilon_start", "epsilon_end"):
      value = getattr(self, name)
      common.check(0.0 <= value <= 1.0, name, "in [0, 1]", value)


@flax.struct.dataclass
class Params:
  """What acting needs: the online Q network (`critic`), the current ε, the number of actions."""
  critic: Any
  epsilon: jax.Array
  num_actions: int = flax.struct.field(pytree_node=False)


@flax.struct.dataclass
class TrainState:
  """Parameters, the target Q network, the optimizer state (over `params.critic`), the update
  counter."""
  params: Params
  target_critic: Any
  opt_state: Any
  step: jax.Array


def network(config: Config, num_actions: int) -> networks.DiscreteQNetwork:
  """The Q network, `[..., D] -> [..., A]`."""
  return networks.DiscreteQNetwork(num_actions, config.hidden)


def init(config: Config, key: jax.Array, obs_size: int, num_actions: int) -> TrainState:
  """Fresh learner state for observations `[obs_size]` (target = online parameters)."""
  critic = networks.init_flat(network(config, num_actions), key, obs_size)
  opt_state = discrete_common.make_optimizer(config).init(critic)
  step = jnp.zeros((), jnp.int32)
  return TrainState(Params(critic, epsilon(config, step), num_actions), critic, opt_state, step)


def epsilon(config: Config, step: jax.Array) -> jax.Array:
  """Linearly decayed exploration rate at update `step` (scalar)."""
  frac = jnp.minimum(step / config.epsilon_updates, 1.0)
  return config.epsilon_start + frac * (config.epsilon_end - config.epsilon_start)


def act(config: Config, params: Params, obs: jax.Array, key: jax.Array,
        mode: str = "explore") -> jax.Array:
  """Actions `[...]` (int) for observations `[..., D]`.

  "explore": ε-greedy with respect to the online Q at `params.epsilon` (§6.5); "eval": greedy.
  """
  discrete_common.check_mode(mode)
  q = network(config, params.num_actions).apply(params.critic, obs)
  greedy = jnp.argmax(q, axis=-1)
  if mode == "eval":
    return greedy
  key_explore, key_random = jax.random.split(key)
  explore = jax.random.uniform(key_explore, q.shape[:-1]) < params.epsilon
  random = jax.random.randint(key_random, q.shape[:-1], 0, params.num_actions)
  return jnp.where(explore, random, greedy)


def q_values(config: Config, params: Params, obs: jax.Array, action: jax.Array) -> jax.Array:
  """The online `Q(s, a)`: `obs [..., D]`, `action [...]` int -> `[...]` (§6.2)."""
  q = network(config, params.num_actions).apply(params.critic, obs)
  return jnp.take_along_axis(q, action[..., None], axis=-1)[..., 0]


def targets(config: Config, target_critic, rollout: discrete_common.Rollout, num_actions: int):
  """Q targets `[T, E]` for the configured backup (Eq. 45–46, 81–83)."""
  apply = network(config, num_actions).apply
  next_q = apply(target_critic, rollout.next_obs)
  if config.backup == "hard":
    next_values = jnp.max(next_q, axis=-1)
    kls = jnp.zeros_like(next_values)
  else:
    log_reference = None if config.backup == "kl" else 0.0
    next_values = losses.discrete_soft_value(next_q, config.tau, log_reference)
    log_probs = losses.boltzmann_policy(apply(target_critic, rollout.obs), config.tau)
    kls = losses.relative_entropy(log_probs, log_reference)
  return losses.soft_n_step_targets(
      rollout.rewards, kls, next_values, rollout.terminals, rollout.dones, config.discount,
      config.tau, config.n_steps)


def update(config: Config, state: TrainState, rollout: discrete_common.Rollout):
  """One gradient step of `½(Q(s_t, a_t) - y_t)²` (Eq. 44) on `rollout` (leaves `[T, E, ...]`);
  returns `(state, metrics)`. The target network is copied every `target_update_period`."""
  params = state.params
  num_actions = params.num_actions
  y = targets(config, state.target_critic, rollout, num_actions)

  def loss(critic):
    q = network(config, num_actions).apply(critic, rollout.obs)
    q_taken = jnp.take_along_axis(q, rollout.actions[..., None], axis=-1)[..., 0]
    return 0.5 * jnp.mean(jnp.square(q_taken - y)), jnp.mean(q_taken)

  (value, mean_q), grads = jax.value_and_grad(loss, has_aux=True)(params.critic)
  updates, opt_state = discrete_common.make_optimizer(config).update(
      grads, state.opt_state, params.critic)
  critic = optax.apply_updates(params.critic, updates)
  step = state.step + 1
  copy = step % config.target_update_period == 0
  target_critic = jax.tree.map(lambda p, t: jnp.where(copy, p, t), critic, state.target_critic)
  rate = epsilon(config, step)
  state = TrainState(Params(critic, rate, num_actions), target_critic, opt_state, step)
  return state, {"q_loss": value, "mean_q": mean_q, "epsilon": rate}
