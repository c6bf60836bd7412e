"""Soft Q-learning with an amortized SVGD sampler (Haarnoja et al. 2017; §2).

Pure functions over an explicit `TrainState`: `init`, `update` (one critic and one sampler step,
§2.8), `act`. The critic regresses on importance-sampled soft values (§2.1–2.2); the sampler
`u = f(s, xi)`, `a = tanh(u)`, follows amortized SVGD toward `exp(Q/alpha)` on the box (§2.3–2.6).
For fine-tuning (§4.5) the temperature may anneal log-linearly (`alpha_final`) and acting may draw
its noise from a frozen set that shrinks linearly (`noise_set`), both over `schedule_steps`.
"""

import dataclasses
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from softq import kernels, losses, networks, stein
from softq.agents import base, common
from softq.types import Transition


@dataclasses.dataclass(frozen=True)
class Config(base.ExplorationConfig):
  """SQL hyperparameters; defaults are Haarnoja et al. 2017, App. D (§2.8); OU exploration
  (§2.7)."""

  exploration: str = "ou"
  alpha: float = 0.1
  reward_scale: float = 1.0
  discount: float = 0.99
  critic_hidden: tuple = (200, 200)
  actor_hidden: tuple = (200, 200)
  critic_learning_rate: float = 1e-3
  actor_learning_rate: float = 1e-4
  batch_size: int = 64
  kernel_particles: int = 32
  value_particles: int = 50
  target_update_period: int = 1000
  bandwidth: str = "median"
  # Fine-tuning schedules (§4.5), over `schedule_steps` gradient steps; off by default.
  alpha_final: float | None = None
  noise_set: int = 0
  noise_set_final: int = 1
  schedule_steps: int = 200_000

  def __post_init__(self):
    super().__post_init__()
    common.check_positive(self, "alpha", "reward_scale", "critic_learning_rate",
                          "actor_learning_rate", "batch_size", "value_particles",
                          "target_update_period")
    common.check(0.0 <= self.discount <= 1.0, "discount", "in [0, 1]", self.discount)
    common.check(self.kernel_particles >= 2, "kernel_particles", ">= 2", self.kernel_particles)
    common.check_hidden(self, "critic_hidden")
    common.check_hidden(self, "actor_hidden")
    common.check(self.bandwidth in kernels.BANDWIDTHS, "bandwidth",
                 f"one of {', '.join(kernels.BANDWIDTHS)}", self.bandwidth)
    common.check(self.alpha_final is None or self.alpha_final > 0, "alpha_final",
                 "> 0 or None", self.alpha_final)
    common.check(self.noise_set >= 0, "noise_set", ">= 0 (0: fresh noise)", self.noise_set)
    common.check(1 <= self.noise_set_final <= max(self.noise_set, 1), "noise_set_final",
                 f"in [1, noise_set = {self.noise_set}]", self.noise_set_final)
    common.check_positive(self, "schedule_steps")


@flax.struct.dataclass
class Params:
  """What acting needs: critic and actor (the sampler `f(s, xi)`) parameters."""

  critic: Any
  actor: Any
  action_size: int = flax.struct.field(pytree_node=False)


@flax.struct.dataclass
class FrozenNoiseParams(Params):
  """`Params` of a frozen noise set (`Config.noise_set = N > 0`, §4.5): also the set
  `noise [N, d]` and how many of its first vectors acting draws from now (`noise_count`, an
  int32 scalar)."""

  noise: jax.Array
  noise_count: jax.Array


@flax.struct.dataclass
class TrainState:
  """Everything that changes during training. `alpha` is an array so sweeps can vmap it."""

  params: Params
  target_critic: Any
  critic_opt_state: Any
  actor_opt_state: Any
  alpha: jax.Array
  step: jax.Array
  key: jax.Array


def _nets(config: Config, action_size: int):
  return (networks.QNetwork(config.critic_hidden),
          networks.NoiseSampler(config.actor_hidden, action_size))


KIND = "continuous"
# Values a sweep sets per run -> the TrainState fields holding them (`base`, `softq.train`).
SWEEPABLE = {"alpha": ("alpha",), "critic_learning_rate": ("critic_opt_state",),
             "actor_learning_rate": ("actor_opt_state",)}


def _optimizers(config: Config):
  return common.adam(config.critic_learning_rate), common.adam(config.actor_learning_rate)


def init(config: Config, key: jax.Array, obs_size: int, action_size: int) -> TrainState:
  """Fresh parameters, target copy, Adam states; `alpha` from the config."""
  q_net, sampler = _nets(config, action_size)
  q_opt, sampler_opt = _optimizers(config)
  k_q, k_s, k_noise, key = jax.random.split(key, 4)
  obs, act = jnp.zeros((1, obs_size)), jnp.zeros((1, action_size))
  q_params = q_net.init(k_q, obs, act)
  sampler_params = sampler.init(k_s, obs, act)
  params = Params(critic=q_params, actor=sampler_params, action_size=action_size)
  if config.noise_set:
    params = FrozenNoiseParams(
        critic=q_params, actor=sampler_params, action_size=action_size,
        noise=jax.random.normal(k_noise, (config.noise_set, action_size)),
        noise_count=jnp.asarray(config.noise_set, jnp.int32))
  return TrainState(
      params=params,
      target_critic=q_params,
      critic_opt_state=q_opt.init(q_params),
      actor_opt_state=sampler_opt.init(sampler_params),
      alpha=jnp.asarray(config.alpha, jnp.float32),
      step=jnp.zeros((), jnp.int32),
      key=key)


def alpha_at(config: Config, alpha: jax.Array, step: jax.Array) -> jax.Array:
  """The temperature after `step` gradient steps (§4.5): `alpha` (the initial value) annealed
  log-linearly to `config.alpha_final` over `config.schedule_steps`, then held; `alpha` itself
  when `alpha_final` is None. Scalars."""
  if config.alpha_final is None:
    return alpha
  progress = jnp.minimum(step / config.schedule_steps, 1.0)
  return jnp.exp((1.0 - progress) * jnp.log(alpha) + progress * jnp.log(config.alpha_final))


def noise_count_at(config: Config, step: jax.Array) -> jax.Array:
  """How many vectors of the frozen noise set acting draws from after `step` gradient steps
  (§4.5): falls linearly from `noise_set` to `noise_set_final` over `schedule_steps` (rounded),
  then held. An int32 scalar."""
  progress = jnp.minimum(step / config.schedule_steps, 1.0)
  count = config.noise_set + progress * (config.noise_set_final - config.noise_set)
  return jnp.round(count).astype(jnp.int32)


def critic_loss(config: Config, q_params, target_critic, alpha, batch: Transition, key):
  """Critic loss and targets (§2.1–2.2) for a batch `[B]`; returns `(loss, targets [B])`.

  `K_V` fresh uniform proposal actions per transition; `V(s')` with the target parameters.
  """
  q_net, _ = _nets(config, batch.action.shape[-1])
  b, d = batch.action.shape
  proposal = jax.random.uniform(key, (b, config.value_particles, d), minval=-1.0, maxval=1.0)
  next_obs = jnp.broadcast_to(batch.next_obs[:, None, :], (b, config.value_particles,
                                                          batch.next_obs.shape[-1]))
  next_q = q_net.apply(target_critic, next_obs, proposal)
  next_v = losses.soft_value(next_q, alpha, losses.uniform_box_log_density(d))
  targets = losses.soft_q_targets(batch.reward, next_v, batch.terminal, config.discount,
                                  config.reward_scale)
  q = q_net.apply(q_params, batch.obs, batch.action)
  return losses.soft_q_loss(q, targets), targets


def actor_loss(config: Config, sampler_params, q_params, alpha, obs: jax.Array, key):
  """Amortized SVGD surrogate (§2.3–2.6) for states `obs [B, o]`; returns `(loss, metrics)`.

  `m = kernel_particles` particles per state; the same particles give the SVGD direction
  (gradient stopped) and the backpropagated sampler outputs.
  """
  d = _action_size(sampler_params)
  q_net, sampler = _nets(config, d)
  b, m = obs.shape[0], config.kernel_particles
  noise = jax.random.normal(key, (b, m, d))
  obs_m = jnp.broadcast_to(obs[:, None, :], (b, m, obs.shape[-1]))
  u = sampler.apply(sampler_params, obs_m, noise)
  u_fixed = jax.lax.stop_gradient(u)
  action_grad = jax.grad(lambda a: jnp.sum(q_net.apply(q_params, obs_m, a)))(jnp.tanh(u_fixed))
  scores = stein.squashed_score(u_fixed, action_grad, alpha)
  h = kernels.bandwidth(u_fixed, config.bandwidth)
  direction = stein.svgd_direction(u_fixed, scores, h)
  loss = losses.amortized_svgd_surrogate(u, direction)
  return loss, {"bandwidth": jnp.mean(h),
                "svgd_norm": jnp.mean(jnp.linalg.norm(direction, axis=-1))}


def update(config: Config, state: TrainState, batch: Transition):
  """One critic step and one sampler step on `batch` (leaves `[B, ...]`); `(state, metrics)`."""
  q_opt, sampler_opt = _optimizers(config)
  key, k_value, k_particles = jax.random.split(state.key, 3)
  params = state.params
  alpha = alpha_at(config, state.alpha, state.step)
  (q_loss, targets), q_grads = jax.value_and_grad(critic_loss, argnums=1, has_aux=True)(
      config, params.critic, state.target_critic, alpha, batch, k_value)
  (s_loss, s_metrics), s_grads = jax.value_and_grad(actor_loss, argnums=1, has_aux=True)(
      config, params.actor, params.critic, alpha, batch.obs, k_particles)
  q_updates, critic_opt_state = q_opt.update(q_grads, state.critic_opt_state, params.critic)
  s_updates, s_opt_state = sampler_opt.update(s_grads, state.actor_opt_state, params.actor)
  new_q = optax.apply_updates(params.critic, q_updates)
  step = state.step + 1
  params = params.replace(critic=new_q, actor=optax.apply_updates(params.actor, s_updates))
  if config.noise_set:
    params = params.replace(noise_count=noise_count_at(config, step))
  new_state = state.replace(
      params=params,
      target_critic=common.update_target(state.target_critic, new_q, step,
                                         config.target_update_period, 1.0),
      critic_opt_state=critic_opt_state, actor_opt_state=s_opt_state, step=step, key=key)
  metrics = {"critic_loss": q_loss, "actor_loss": s_loss, "target_mean": jnp.mean(targets),
             **s_metrics}
  if config.alpha_final is not None:
    metrics["alpha"] = alpha
  return new_state, metrics


def act(config: Config, params: Params, obs: jax.Array, key: jax.Array, mode: str = "explore"):
  """Actions `[..., d]` for observations `[..., o]`: one sampler particle each (§2.7).

  The noise input is fresh, or with a frozen set (§4.5) one of its first `noise_count` vectors,
  uniformly. Both modes ("explore", "eval") sample the stochastic policy; exploration noise is
  the training loop's.
  """
  del mode
  _, sampler = _nets(config, params.action_size)
  shape = obs.shape[:-1]
  if not isinstance(params, FrozenNoiseParams):
    noise = jax.random.normal(key, shape + (params.action_size,))
  else:
    noise = params.noise[jax.random.randint(key, shape, 0, params.noise_count)]
  return jnp.tanh(sampler.apply(params.actor, obs, noise))


def q_values(config: Config, params: Params, obs: jax.Array, action: jax.Array) -> jax.Array:
  """`Q(s, a)`: `[..., o], [..., d] -> [...]` (for figures and evaluation)."""
  q_net, _ = _nets(config, params.action_size)
  return q_net.apply(params.critic, obs, action)


def _action_size(sampler_params) -> int:
  """Output size of the sampler network (its last Dense layer's bias)."""
  mlp = sampler_params["params"]["MLP_0"]
  last = max(mlp, key=lambda name: int(name.split("_")[-1]))
  return mlp[last]["bias"].shape[-1]
