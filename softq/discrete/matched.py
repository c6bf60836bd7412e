"""Matched-dynamics soft Q-learner of §6.5 (Schulman et al. 2017 Sec. 6.3).

One actor-critic network; `Q(s, a) = V(s) + τ log(π(a|s)/π̄(a))` (a dueling form; with uniform
`π̄` this is §6.5's `V + τ log softmax(logits)` up to the constant `τ log A`, chosen so that
the value head equals `V_Q`). Actions come from `π`; no target network, no ε. The n-step soft
Q targets (Eq. 46) use the current network, held fixed. Gradients into the advantage stream are
scaled by `advantage_scale` (1/τ) and into the value stream by `value_scale` (0.5), which makes
the expected update that of entropy-regularised A2C with `c = 0.5` (Eq. 65); `scaled=False`
uses 1 and 1 (A2C with `c = 1/τ`, up to an overall factor τ). Each update also reports the
cosine similarity between this update's gradient and the proper-A2C gradient on the same data.
"""

import dataclasses

import math

import jax
import jax.flatten_util
import jax.numpy as jnp
import optax

from softq import losses
from softq.discrete import a2c
from softq.discrete import common


@dataclasses.dataclass(frozen=True)
class Config(common.LearnerConfig):
  """Matched learner; `scaled` picks the (1/τ, 0.5) gradient scaling or none; `value_coef` is
  the A2C value weight it is matched to (> 0)."""
  scaled: bool = True
  value_coef: float = 0.5

  def __post_init__(self):
    super().__post_init__()
    common.check_positive(self, "value_coef")


def _a2c_config(config: Config) -> a2c.Config:
  """The A2C this learner matches in expectation: proper, `c = value_coef` (scaled) or `1/τ`."""
  value_coef = config.value_coef if config.scaled else 1.0 / config.tau
  return a2c.Config(config.tau, config.discount, config.learning_rate, config.max_grad_norm,
                    config.hidden, "proper", value_coef)


def init(config: Config, key: jax.Array, obs_size: int, num_actions: int) -> common.AgentState:
  """Fresh learner state (same network as A2C)."""
  return a2c.init(_a2c_config(config), key, obs_size, num_actions)


def act(config: Config, state, obs, key, num_actions):
  """Samples `a ~ π_θ(·|s)`, `[E, D] -> [E]`."""
  return a2c.act(_a2c_config(config), state, obs, key, num_actions)


def q_values(config: Config, params, obs: jax.Array, num_actions: int):
  """`(Q [.., A] with scaled gradients, V [..], log π [.., A])` for observations `[.., D]`."""
  logits, values = a2c.network(_a2c_config(config), num_actions).apply(params, obs)
  log_probs = jax.nn.log_softmax(logits)
  advantage_scale, value_scale = (1.0 / config.tau, config.value_coef) if config.scaled else (
      1.0, 1.0)
  advantage = config.tau * (log_probs + math.log(num_actions))
  q = (common.scale_gradient(values, value_scale)[..., None]
       + common.scale_gradient(advantage, advantage_scale))
  return q, values, log_probs


def loss(config: Config, params, rollout: common.Rollout, num_actions: int):
  """`mean ½ (Q(s_t, a_t) - y_t)²` with n-step soft targets from the current network."""
  q, _, log_probs = q_values(config, params, rollout.obs, num_actions)
  _, next_values, _ = q_values(config, params, rollout.next_obs, num_actions)
  kls = losses.relative_entropy(log_probs)
  y = losses.soft_n_step_targets(
      rollout.rewards, jax.lax.stop_gradient(kls), jax.lax.stop_gradient(next_values),
      rollout.terminals, rollout.dones, config.discount, config.tau)
  q_taken = jnp.take_along_axis(q, rollout.actions[..., None], axis=-1)[..., 0]
  return 0.5 * jnp.mean(jnp.square(q_taken - y))


def update(config: Config, state: common.AgentState, rollout: common.Rollout, num_actions: int):
  """One gradient step; metrics include `cosine` to the proper-A2C gradient."""
  value, grads = jax.value_and_grad(loss, argnums=1)(config, state.params, rollout, num_actions)
  a2c_grads, _ = jax.grad(a2c.loss, argnums=1, has_aux=True)(
      _a2c_config(config), state.params, rollout, num_actions)
  updates, opt_state = common.make_optimizer(config).update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  state = state.replace(params=params, opt_state=opt_state, step=state.step + 1)
  return state, {"q_loss": value, "cosine": _cosine(grads, a2c_grads)}


def _cosine(a, b) -> jax.Array:
  flat_a, _ = jax.flatten_util.ravel_pytree(a)
  flat_b, _ = jax.flatten_util.ravel_pytree(b)
  return jnp.dot(flat_a, flat_b) / (jnp.linalg.norm(flat_a) * jnp.linalg.norm(flat_b) + 1e-12)
