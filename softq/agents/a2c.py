"""Synchronous n-step A2C with naive or proper entropy regularisation (§6.3, Eq. 79–80, 84–86).

Naive: reward-only returns and a one-step KL bonus; the value head fits reward returns.
Proper: KL penalties of the future steps inside the returns; the value head fits the
entropy-augmented return (Eq. 54). `π̄` is uniform (`KL = log A - H`). One actor-critic network
(`networks.ActorCritic`); the update is deterministic given the rollout, so `TrainState` carries
no key (the on-policy loop, `softq.train.onpolicy`, keys acting).
"""

import dataclasses
import math
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from softq import losses, networks
from softq.agents import common
from softq.agents import discrete_common

ESTIMATORS = ("naive", "proper")
KIND = "discrete"
# The optimizer is a clipped Adam whose rate is not in its state: nothing is swept per run.
SWEEPABLE = {}


@dataclasses.dataclass(frozen=True)
class Config(discrete_common.LearnerConfig):
  """A2C settings; `estimator` in {"naive", "proper"}, `value_coef` (c of Eq. 86) > 0."""
  estimator: str = "proper"
  value_coef: float = 0.5

  def __post_init__(self):
    super().__post_init__()
    common.check(self.estimator in ESTIMATORS, "estimator", f"one of {', '.join(ESTIMATORS)}",
                 self.estimator)
    common.check_positive(self, "value_coef")


@flax.struct.dataclass
class Params:
  """What acting needs: the actor-critic network's parameters and the number of actions."""
  actor_critic: Any
  num_actions: int = flax.struct.field(pytree_node=False)


@flax.struct.dataclass
class TrainState:
  """Parameters, the optimizer state (over `params.actor_critic`) and the update counter."""
  params: Params
  opt_state: Any
  step: jax.Array


def network(config: Config, num_actions: int) -> networks.ActorCritic:
  """The actor-critic network, `[..., D] -> (logits [..., A], V [...])`."""
  return networks.ActorCritic(num_actions, config.hidden)


def init(config: Config, key: jax.Array, obs_size: int, num_actions: int) -> TrainState:
  """Fresh learner state for observations `[obs_size]` and `num_actions` actions."""
  actor_critic = networks.init_flat(network(config, num_actions), key, obs_size)
  opt_state = discrete_common.make_optimizer(config).init(actor_critic)
  return TrainState(Params(actor_critic, num_actions), opt_state, jnp.zeros((), jnp.int32))


def act(config: Config, params: Params, obs: jax.Array, key: jax.Array,
        mode: str = "explore") -> jax.Array:
  """Actions `[...]` (int) for observations `[..., D]`.

  "explore" samples `a ~ π_θ(·|s)` (§6.3); "eval" takes the most probable action.
  """
  discrete_common.check_mode(mode)
  logits, _ = network(config, params.num_actions).apply(params.actor_critic, obs)
  if mode == "eval":
    return jnp.argmax(logits, axis=-1)
  return jax.random.categorical(key, logits)


def q_values(config: Config, params: Params, obs: jax.Array, action: jax.Array) -> jax.Array:
  """The soft Q the policy implies, `Q(s, a) = V(s) + τ log(π(a|s) / π̄(a))` (§6.1, §6.5).

  `obs [..., D]`, `action [...]` int -> `[...]`. With `π = π_Q` this is the `Q` whose Boltzmann
  policy is `π` and whose soft value is the value head `V` (uniform `π̄`: `τ log π̄ = -τ log A`).
  """
  logits, values = network(config, params.num_actions).apply(params.actor_critic, obs)
  log_probs = jax.nn.log_softmax(logits)
  taken = jnp.take_along_axis(log_probs, action[..., None], axis=-1)[..., 0]
  return values + config.tau * (taken + math.log(params.num_actions))


def loss(config: Config, actor_critic, rollout: discrete_common.Rollout, num_actions: int):
  """`L_policy + c L_value` on a rollout `[T, E]` (Eq. 86); returns `(scalar, metrics)`."""
  apply = network(config, num_actions).apply
  logits, values = apply(actor_critic, rollout.obs)
  _, next_values = apply(actor_critic, rollout.next_obs)
  log_probs = jax.nn.log_softmax(logits)
  kls = jax.lax.stop_gradient(losses.relative_entropy(log_probs))
  tau_in_returns = config.tau if config.estimator == "proper" else 0.0
  returns = losses.entropy_regularised_returns(
      rollout.rewards, kls, jax.lax.stop_gradient(next_values), rollout.terminals,
      rollout.dones, config.discount, tau_in_returns)
  policy = losses.entropy_regularised_pg_loss(
      log_probs, rollout.actions, returns, values, config.tau)
  value = losses.a2c_value_loss(values, returns)
  return policy + config.value_coef * value, {"policy_loss": policy, "value_loss": value,
                                              "kl": jnp.mean(kls)}


def update(config: Config, state: TrainState, rollout: discrete_common.Rollout):
  """One gradient step on `rollout` (leaves `[T, E, ...]`, Eq. 86); returns `(state, metrics)`."""
  params = state.params
  grads, metrics = jax.grad(loss, argnums=1, has_aux=True)(
      config, params.actor_critic, rollout, params.num_actions)
  updates, opt_state = discrete_common.make_optimizer(config).update(
      grads, state.opt_state, params.actor_critic)
  params = params.replace(actor_critic=optax.apply_updates(params.actor_critic, updates))
  return state.replace(params=params, opt_state=opt_state, step=state.step + 1), metrics
