"""Matched-dynamics soft Q-learner of §6.5 (Schulman et al. 2017 Sec. 6.3).

One actor-critic network; `Q(s, a) = V(s) + τ log(π(a|s)/π̄(a))` (a dueling form; with uniform
`π̄` this is §6.5's `V + τ log softmax(logits)` up to the constant `τ log A`, chosen so that
the value head equals `V_Q`). Actions come from `π`; no target network, no ε. The n-step soft
Q targets (Eq. 46) use the current network, held fixed. Gradients into the advantage stream are
scaled by `advantage_scale` (1/τ) and into the value stream by `value_scale` (0.5), which makes
the expected update that of entropy-regularised A2C with `c = 0.5` (Eq. 65); `scaled=False`
uses 1 and 1 (A2C with `c = 1/τ`, up to an overall factor τ). Each update also reports the
cosine similarity between this update's gradient and the proper-A2C gradient on the same data.
`Params` and `TrainState` are A2C's (same network, no key: the update is deterministic).
"""

import dataclasses
import math

import jax
import jax.flatten_util
import jax.numpy as jnp
import optax

from softq import losses
from softq.agents import a2c
from softq.agents import common
from softq.agents import discrete_common

KIND = "discrete"
# The optimizer is a clipped Adam whose rate is not in its state: nothing is swept per run.
SWEEPABLE = {}
Params = a2c.Params
TrainState = a2c.TrainState


@dataclasses.dataclass(frozen=True)
class Config(discrete_common.LearnerConfig):
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


def init(config: Config, key: jax.Array, obs_size: int, num_actions: int) -> TrainState:
  """Fresh learner state for observations `[obs_size]` (same network as A2C)."""
  return a2c.init(_a2c_config(config), key, obs_size, num_actions)


def act(config: Config, params: Params, obs: jax.Array, key: jax.Array,
        mode: str = "explore") -> jax.Array:
  """Actions `[...]` (int) for observations `[..., D]`: "explore" samples `a ~ π_θ(·|s)`,
  "eval" takes the most probable action (as `a2c.act`)."""
  return a2c.act(_a2c_config(config), params, obs, key, mode)


def q_values(config: Config, params: Params, obs: jax.Array, action: jax.Array) -> jax.Array:
  """`Q(s, a) = V(s) + τ log(π(a|s)/π̄(a))` (§6.5): `obs [..., D]`, `action [...]` int ->
  `[...]`."""
  q, _, _ = _heads(config, params.actor_critic, obs, params.num_actions)
  return jnp.take_along_axis(q, action[..., None], axis=-1)[..., 0]


def _heads(config: Config, actor_critic, obs: jax.Array, num_actions: int):
  """`(Q [.., A] with scaled gradients, V [..], log π [.., A])` for observations `[.., D]`."""
  logits, values = a2c.network(_a2c_config(config), num_actions).apply(actor_critic, obs)
  log_probs = jax.nn.log_softmax(logits)
  advantage_scale, value_scale = (1.0 / config.tau, config.value_coef) if config.scaled else (
      1.0, 1.0)
  advantage = config.tau * (log_probs + math.log(num_actions))
  q = (discrete_common.scale_gradient(values, value_scale)[..., None]
       + discrete_common.scale_gradient(advantage, advantage_scale))
  return q, values, log_probs


def loss(config: Config, actor_critic, rollout: discrete_common.Rollout, num_actions: int):
  """`mean ½ (Q(s_t, a_t) - y_t)²` over a rollout `[T, E]`, with n-step soft targets (Eq. 46)
  from the current network."""
  q, _, log_probs = _heads(config, actor_critic, rollout.obs, num_actions)
  _, next_values, _ = _heads(config, actor_critic, rollout.next_obs, num_actions)
  kls = losses.relative_entropy(log_probs)
  y = losses.soft_n_step_targets(
      rollout.rewards, jax.lax.stop_gradient(kls), jax.lax.stop_gradient(next_values),
      rollout.terminals, rollout.dones, config.discount, config.tau)
  q_taken = jnp.take_along_axis(q, rollout.actions[..., None], axis=-1)[..., 0]
  return 0.5 * jnp.mean(jnp.square(q_taken - y))


def update(config: Config, state: TrainState, rollout: discrete_common.Rollout):
  """One gradient step on `rollout` (leaves `[T, E, ...]`); returns `(state, metrics)`, metrics
  including `cosine` to the proper-A2C gradient (§6.5)."""
  params = state.params
  value, grads = jax.value_and_grad(loss, argnums=1)(
      config, params.actor_critic, rollout, params.num_actions)
  a2c_grads, _ = jax.grad(a2c.loss, argnums=1, has_aux=True)(
      _a2c_config(config), params.actor_critic, rollout, params.num_actions)
  updates, opt_state = discrete_common.make_optimizer(config).update(
      grads, state.opt_state, params.actor_critic)
  params = params.replace(actor_critic=optax.apply_updates(params.actor_critic, updates))
  state = state.replace(params=params, opt_state=opt_state, step=state.step + 1)
  return state, {"q_loss": value, "cosine": _cosine(grads, a2c_grads)}


def _cosine(a, b) -> jax.Array:
  flat_a, _ = jax.flatten_util.ravel_pytree(a)
  flat_b, _ = jax.flatten_util.ravel_pytree(b)
  return jnp.dot(flat_a, flat_b) / (jnp.linalg.norm(flat_a) * jnp.linalg.norm(flat_b) + 1e-12)
