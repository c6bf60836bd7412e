"""Synchronous n-step A2C with naive or proper entropy regularisation (§6.3, Eq. 79–80, 84–86).

Naive: reward-only returns and a one-step KL bonus; the value head fits reward returns.
Proper: KL penalties of the future steps inside the returns; the value head fits the
entropy-augmented return (Eq. 54). `π̄` is uniform (`KL = log A - H`).
"""

import dataclasses

import jax
import jax.numpy as jnp
import optax

from softq import losses
from softq.discrete import common
from softq.discrete import networks

ESTIMATORS = ("naive", "proper")


@dataclasses.dataclass(frozen=True)
class Config(common.LearnerConfig):
  """A2C settings; `estimator` in {"naive", "proper"}, `value_coef` (c of Eq. 86) > 0."""
  estimator: str = "proper"
  value_coef: float = 0.5

  def __post_init__(self):
    super().__post_init__()
    if self.estimator not in ESTIMATORS:
      raise ValueError(f"estimator must be one of {ESTIMATORS}, got {self.estimator!r}")
    common.check_positive(self, "value_coef")


def network(config: Config, num_actions: int) -> networks.ActorCritic:
  return networks.ActorCritic(num_actions, config.hidden)


def init(config: Config, key: jax.Array, obs_size: int, num_actions: int) -> common.AgentState:
  """Fresh learner state."""
  params = networks.init_params(network(config, num_actions), key, obs_size)
  opt_state = common.make_optimizer(config).init(params)
  return common.AgentState(params, params, opt_state, jnp.zeros((), jnp.int32))


def act(config: Config, state: common.AgentState, obs: jax.Array, key: jax.Array,
        num_actions: int) -> jax.Array:
  """Samples `a ~ π_θ(·|s)`, `[E, D] -> [E]`."""
  logits, _ = network(config, num_actions).apply(state.params, obs)
  return jax.random.categorical(key, logits)


def loss(config: Config, params, rollout: common.Rollout, num_actions: int):
  """`L_policy + c L_value` on a rollout (Eq. 86); returns `(scalar, metrics)`."""
  apply = network(config, num_actions).apply
  logits, values = apply(params, rollout.obs)
  _, next_values = apply(params, rollout.next_obs)
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


def update(config: Config, state: common.AgentState, rollout: common.Rollout, num_actions: int):
  """One gradient step on `rollout`; returns `(state, metrics)`."""
  grads, metrics = jax.grad(loss, argnums=1, has_aux=True)(
      config, state.params, rollout, num_actions)
  updates, opt_state = common.make_optimizer(config).update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  return state.replace(params=params, opt_state=opt_state, step=state.step + 1), metrics
