"""Soft Actor-Critic with a tanh-Gaussian policy and optional automatic temperature (§3.8).

SAC is S2AC with `L = 0` SVGD steps and an untruncated Gaussian: twin critics with Polyak
targets, a reparameterised actor, `log pi = log N(u; mu, sigma) - sum log(1 - tanh^2 u)`
(`networks.GaussianPolicy`, also S2AC's initial-distribution network, §3.1).
"""

import dataclasses
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from softq import distributions, losses, networks
from softq.agents import base, common
from softq.types import Transition

@dataclasses.dataclass(frozen=True)
class Config(base.ExplorationConfig):
  """SAC hyperparameters; defaults are §3.8 (256x256 nets, Adam 3e-4, batch 256, tau 0.005).

  `auto_alpha` tunes the temperature toward `target_entropy` (`None`: `-d`), starting from
  `alpha`. `eval_mode`: "random" samples the policy, "mean" takes `tanh(mu)`.
  """

  alpha: float = 0.2
  auto_alpha: bool = False
  target_entropy: float | None = None
  discount: float = 0.99
  tau: float = 0.005
  critic_hidden: tuple = (256, 256)
  actor_hidden: tuple = (256, 256)
  learning_rate: float = 3e-4
  batch_size: int = 256
  eval_mode: str = "random"
  entropy_particles: int = 100

  def __post_init__(self):
    super().__post_init__()
    common.check_positive(self, "alpha", "learning_rate", "batch_size", "entropy_particles")
    common.check(0.0 <= self.discount <= 1.0, "discount", "in [0, 1]", self.discount)
    common.check(0.0 < self.tau <= 1.0, "tau", "in (0, 1]", self.tau)
    common.check_hidden(self, "critic_hidden")
    common.check_hidden(self, "actor_hidden")
    common.check(self.eval_mode in ("random", "mean"), "eval_mode", "one of random, mean",
                 self.eval_mode)
    common.check(isinstance(self.auto_alpha, bool), "auto_alpha", "True or False",
                 self.auto_alpha)


@flax.struct.dataclass
class Params:
  """What acting needs: critics and actor."""

  critic: Any
  actor: Any
  action_size: int = flax.struct.field(pytree_node=False)


@flax.struct.dataclass
class TrainState:
  """Parameters, target critics, optimizer states, the temperature `alpha` (an array, so sweeps
  can vmap it; its optimizer state is over `log alpha`), step, key."""

  params: Params
  target_critic: Any
  critic_opt_state: Any
  actor_opt_state: Any
  alpha: jax.Array
  alpha_opt_state: Any
  step: jax.Array
  key: jax.Array


def _nets(config: Config, action_size: int):
  return (networks.TwinQNetwork(config.critic_hidden),
          networks.GaussianPolicy(config.actor_hidden, action_size))


KIND = "continuous"
# Values a sweep sets per run -> the TrainState fields holding them (`base`, `softq.train`).
SWEEPABLE = {"alpha": ("alpha",),
             "learning_rate": ("critic_opt_state", "actor_opt_state", "alpha_opt_state")}


def init(config: Config, key: jax.Array, obs_size: int, action_size: int) -> TrainState:
  """Fresh twin critics (target = copy), actor, Adam states; `alpha` from the config."""
  critic, actor = _nets(config, action_size)
  opt = common.adam(config.learning_rate)
  k_c, k_a, key = jax.random.split(key, 3)
  obs, act = jnp.zeros((1, obs_size)), jnp.zeros((1, action_size))
  critic_params = critic.init(k_c, obs, act)
  actor_params = actor.init(k_a, obs)
  alpha = jnp.asarray(config.alpha, jnp.float32)
  return TrainState(
      params=Params(critic=critic_params, actor=actor_params, action_size=action_size),
      target_critic=critic_params,
      critic_opt_state=opt.init(critic_params),
      actor_opt_state=opt.init(actor_params),
      alpha=alpha,
      alpha_opt_state=opt.init(jnp.log(alpha)),
      step=jnp.zeros((), jnp.int32),
      key=key)


def policy(config: Config, actor_params, obs: jax.Array, noise: jax.Array):
  """Reparameterised tanh-Gaussian draws for given standard-normal noise (§3.8).

  Args:
    obs: `[..., o]`.
    noise: `[..., d]`.
  Returns:
    `(actions, log_probs)`: `[..., d]`, `[...]`.
  """
  _, actor = _nets(config, noise.shape[-1])
  mean, std = actor.apply(actor_params, obs)
  u = mean + std * noise
  return jnp.tanh(u), distributions.tanh_gaussian_log_prob(u, mean, std)


def critic_loss(config: Config, critic_params, target_critic, actor_params, alpha,
                batch: Transition, noise_next: jax.Array) -> jax.Array:
  """SAC twin-critic loss (§3.8) with next actions from standard-normal `noise_next [B, d]`."""
  critic, _ = _nets(config, batch.action.shape[-1])
  next_actions, next_log_probs = policy(config, actor_params, batch.next_obs, noise_next)
  return losses.sac_critic_loss(
      critic.apply(critic_params, batch.obs, batch.action), batch.reward,
      critic.apply(target_critic, batch.next_obs, next_actions), next_log_probs,
      batch.terminal, config.discount, alpha)


def actor_loss(config: Config, actor_params, critic_params, alpha, obs: jax.Array,
               noise: jax.Array):
  """SAC actor loss (§3.8) for states `[B, o]` and noise `[B, d]`; returns `(loss, log_probs)`."""
  critic, _ = _nets(config, noise.shape[-1])
  actions, log_probs = policy(config, actor_params, obs, noise)
  return losses.sac_actor_loss(critic.apply(critic_params, obs, actions), log_probs,
                               alpha), log_probs


def update(config: Config, state: TrainState, batch: Transition):
  """One critic, one actor and (if `auto_alpha`) one temperature step; `(state, metrics)`."""
  opt = common.adam(config.learning_rate)
  params = state.params
  d = params.action_size
  key, k_next, k_now = jax.random.split(state.key, 3)
  b = batch.reward.shape[0]
  c_loss, c_grads = jax.value_and_grad(critic_loss, argnums=1)(
      config, params.critic, state.target_critic, params.actor, state.alpha, batch,
      jax.random.normal(k_next, (b, d)))
  (a_loss, log_probs), a_grads = jax.value_and_grad(actor_loss, argnums=1, has_aux=True)(
      config, params.actor, params.critic, state.alpha, batch.obs,
      jax.random.normal(k_now, (b, d)))
  c_updates, critic_opt_state = opt.update(c_grads, state.critic_opt_state, params.critic)
  a_updates, actor_opt_state = opt.update(a_grads, state.actor_opt_state, params.actor)
  new_critic = optax.apply_updates(params.critic, c_updates)
  alpha, alpha_opt_state = common.tune_alpha(opt, state.alpha, state.alpha_opt_state, log_probs,
                                      common.target_entropy(config, d), config.auto_alpha)
  step = state.step + 1
  new_state = state.replace(
      params=params.replace(critic=new_critic, actor=optax.apply_updates(params.actor, a_updates)),
      target_critic=common.update_target(state.target_critic, new_critic, step, 1, config.tau),
      critic_opt_state=critic_opt_state, actor_opt_state=actor_opt_state,
      alpha=alpha, alpha_opt_state=alpha_opt_state, step=step, key=key)
  metrics = {"critic_loss": c_loss, "actor_loss": a_loss, "alpha": alpha,
             "entropy": -jnp.mean(log_probs)}
  return new_state, metrics


def act(config: Config, params: Params, obs: jax.Array, key: jax.Array, mode: str = "explore"):
  """Actions `[..., d]` for observations `[..., o]`.

  Modes: "explore" / "random" sample the policy; "mean" is `tanh(mu)`; "eval" is
  `config.eval_mode`.
  """
  mode = config.eval_mode if mode == "eval" else mode
  if mode == "mean":
    _, actor = _nets(config, params.action_size)
    return jnp.tanh(actor.apply(params.actor, obs)[0])
  if mode not in ("explore", "random"):
    raise ValueError(f"mode must be one of explore, eval, random, mean, got {mode!r}")
  noise = jax.random.normal(key, obs.shape[:-1] + (params.action_size,))
  return policy(config, params.actor, obs, noise)[0]


def q_values(config: Config, params: Params, obs: jax.Array, action: jax.Array) -> jax.Array:
  """`min_k Q_k(s, a)`: `[..., o], [..., d] -> [...]` (for figures and evaluation)."""
  critic, _ = _nets(config, params.action_size)
  return jnp.min(critic.apply(params.critic, obs, action), axis=0)


def entropy(config: Config, params: Params, obs: jax.Array, key: jax.Array) -> jax.Array:
  """Monte Carlo policy entropy `-mean log pi(a|s)` over `entropy_particles` draws (§3.8).

  Args:
    obs: `[..., o]`.
  Returns:
    `[...]`.
  """
  n, d = config.entropy_particles, params.action_size
  noise = jax.random.normal(key, (n,) + obs.shape[:-1] + (d,))
  return -jnp.mean(policy(config, params.actor, obs, noise)[1], axis=0)

