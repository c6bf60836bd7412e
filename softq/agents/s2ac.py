"""Stein Soft Actor-Critic: an SVGD policy with a closed-form entropy (Messaoud et al. 2024; §3).

The policy draws `m` particles per state from a truncated Gaussian `q0`, moves them by `L` SVGD
steps toward `exp(Q/alpha)` and squashes them with tanh; `log pi` comes in closed form
(`softq.stein.stein_policy`, §3.1–§3.3). Twin critics learn from soft targets over fresh
particles (§3.4); the initial distribution is trained through the unrolled sampler (§3.5).

Variants (`Config.variant`):
  "phi_theta": S2AC(phi, theta), a state-dependent `q0 = N(mu_theta(s), sigma_theta(s)^2)`;
  "phi":       S2AC(phi), a fixed `q0 = N(0, init_std^2 I)` with no actor parameters;
  "amortized": S2AC(phi, theta, psi), "phi_theta" plus a noise-input sampler
               `a = tanh(f_psi(s, xi))` trained by amortized SVGD (§3.7) that replaces the
               unrolled sampler in evaluation-time action selection.
"""

import dataclasses
import math
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from softq import kernels, losses, networks, stein
from softq.agents import base, common
from softq.types import Transition

VARIANTS = ("phi_theta", "phi", "amortized")
SELECTIONS = ("random", "softmax", "max")
MODES = ("explore", "eval") + SELECTIONS


@dataclasses.dataclass(frozen=True)
class Config(base.ExplorationConfig):
  """S2AC hyperparameters; defaults are the authors' code and README (§3.9).

  `num_steps` is `L` (3 for MuJoCo, 10 for the multi-goal task); `bandwidth` is a heuristic
  name of §2.4 (recomputed at every SVGD step) or a number, a fixed `h` (Messaoud et al. 2024,
  App. J lists a fixed kernel variance); `log_det` is the SVGD log-density increment, the
  first-order
  `"trace"` (§3.3) or the `"exact"` leave-one-out log-determinant (`stein.svgd_step`), which
  the actor cannot exploit by collapsing its particles; `truncation` bounds `q0` in
  standard deviations (`inf`: untruncated, as SAC); `eval_selection` is the evaluation-time
  choice among the particles (§3.6); `auto_alpha` tunes `alpha` toward `target_entropy`
  (`None`: `-d`) as SAC does (§3.8).
  """

  variant: str = "phi_theta"
  alpha: float = 0.2
  auto_alpha: bool = False
  target_entropy: float | None = None
  discount: float = 0.99
  tau: float = 0.005
  critic_hidden: tuple = (256, 256)
  actor_hidden: tuple = (256, 256, 256)
  sampler_hidden: tuple = (256, 256)
  learning_rate: float = 1e-3
  batch_size: int = 100
  num_particles: int = 10
  num_steps: int = 3
  step_size: float = 0.1
  bandwidth: str | float = "median"
  log_det: str = "trace"
  truncation: float = 3.0
  init_std: float = 0.5
  eval_selection: str = "softmax"

  def __post_init__(self):
    super().__post_init__()
    common.check(self.variant in VARIANTS, "variant", f"one of {', '.join(VARIANTS)}",
                 self.variant)
    common.check_positive(self, "alpha", "learning_rate", "batch_size", "step_size",
                          "truncation", "init_std")
    common.check(0.0 <= self.discount <= 1.0, "discount", "in [0, 1]", self.discount)
    common.check(0.0 < self.tau <= 1.0, "tau", "in (0, 1]", self.tau)
    for field in ("critic_hidden", "actor_hidden", "sampler_hidden"):
      common.check_hidden(self, field)
    common.check(isinstance(self.num_steps, int) and self.num_steps >= 0, "num_steps",
                 "an int >= 0", self.num_steps)
    least = 2 if self.num_steps > 0 else 1
    common.check(isinstance(self.num_particles, int) and self.num_particles >= least,
                 "num_particles", f"an int >= {least} (SVGD needs 2 when num_steps > 0)",
                 self.num_particles)
    fixed = isinstance(self.bandwidth, (int, float)) and not isinstance(self.bandwidth, bool)
    common.check(self.bandwidth in kernels.BANDWIDTHS or (fixed and self.bandwidth > 0),
                 "bandwidth", f"one of {', '.join(kernels.BANDWIDTHS)} or a number > 0",
                 self.bandwidth)
    common.check(self.log_det in stein.LOG_DETS, "log_det", f"one of {', '.join(stein.LOG_DETS)}",
                 self.log_det)
    common.check(self.eval_selection in SELECTIONS, "eval_selection",
                 f"one of {', '.join(SELECTIONS)}", self.eval_selection)
    common.check(isinstance(self.auto_alpha, bool), "auto_alpha", "True or False",
                 self.auto_alpha)


@flax.struct.dataclass
class Params:
  """What acting needs: critics, `q0` net (`{}` for "phi"), amortized sampler (`{}` unless
  "amortized") and the temperature the sampler targets (a copy of `TrainState.alpha`, refreshed
  by every `update`)."""

  critic: Any
  actor: Any
  sampler: Any
  alpha: jax.Array
  action_size: int = flax.struct.field(pytree_node=False)


@flax.struct.dataclass
class TrainState:
  """Parameters, target critics, optimizer states, the temperature, step, key.

  `alpha` is the temperature the losses use (an array, so sweeps can vmap it; its optimizer state
  is over `log alpha`); `update` copies it into `params.alpha` for acting, so a value set between
  updates (a sweep) reaches the policy at the next update.
  """

  params: Params
  target_critic: Any
  critic_opt_state: Any
  actor_opt_state: Any
  sampler_opt_state: Any
  alpha: jax.Array
  alpha_opt_state: Any
  step: jax.Array
  key: jax.Array


def _nets(config: Config, action_size: int):
  return (networks.TwinQNetwork(config.critic_hidden),
          networks.GaussianPolicy(config.actor_hidden, action_size),
          networks.NoiseSampler(config.sampler_hidden, action_size))


KIND = "continuous"
# Values a sweep sets per run -> the TrainState fields holding them (`base`, `softq.train`).
SWEEPABLE = {"alpha": ("alpha",),
             "learning_rate": ("critic_opt_state", "actor_opt_state", "sampler_opt_state",
                               "alpha_opt_state")}


def init(config: Config, key: jax.Array, obs_size: int, action_size: int) -> TrainState:
  """Fresh critics (target = copy), `q0` net and sampler as the variant needs, Adam states."""
  critic, actor, sampler = _nets(config, action_size)
  opt = common.adam(config.learning_rate)
  k_c, k_a, k_s, key = jax.random.split(key, 4)
  obs, act = jnp.zeros((1, obs_size)), jnp.zeros((1, action_size))
  critic_params = critic.init(k_c, obs, act)
  actor_params = actor.init(k_a, obs) if config.variant != "phi" else {}
  sampler_params = sampler.init(k_s, obs, act) if config.variant == "amortized" else {}
  alpha = jnp.asarray(config.alpha, jnp.float32)
  return TrainState(
      params=Params(critic=critic_params, actor=actor_params, sampler=sampler_params,
                    alpha=alpha, action_size=action_size),
      target_critic=critic_params,
      critic_opt_state=opt.init(critic_params),
      actor_opt_state=opt.init(actor_params),
      sampler_opt_state=opt.init(sampler_params),
      alpha=alpha,
      alpha_opt_state=opt.init(jnp.log(alpha)),
      step=jnp.zeros((), jnp.int32),
      key=key)


def initial_noise(config: Config, key: jax.Array, shape: tuple) -> jax.Array:
  """Standardized draws for `q0`: normal truncated to `±truncation` (exact, §3.1), `shape`."""
  if math.isinf(config.truncation):
    return jax.random.normal(key, shape)
  return jax.random.truncated_normal(key, -config.truncation, config.truncation, shape)


def policy(config: Config, critic_params, actor_params, alpha, obs: jax.Array,
           noise: jax.Array):
  """The S2AC policy's particles and log-densities from standardized noise (§3.1–§3.3).

  SVGD targets `exp(min_k Q_k(s, a) / alpha)` on the box (score of §2.3).

  Args:
    critic_params: twin-critic parameters.
    actor_params: `q0` net parameters (ignored by "phi").
    alpha: scalar temperature.
    obs: `[..., o]`.
    noise: `[..., m, d]` within `±truncation`.
  Returns:
    `(actions, log_probs)`: `[..., m, d]`, `[..., m]`.
  """
  critic, actor, _ = _nets(config, noise.shape[-1])
  if config.variant == "phi":
    mean = jnp.zeros(obs.shape[:-1] + noise.shape[-1:], noise.dtype)
    std = jnp.full_like(mean, config.init_std)
  else:
    mean, std = actor.apply(actor_params, obs)
  obs_m = jnp.broadcast_to(obs[..., None, :], noise.shape[:-1] + obs.shape[-1:])
  score = stein.action_value_score(
      lambda a: jnp.min(critic.apply(critic_params, obs_m, a), axis=0), alpha)
  actions, _, log_probs = stein.stein_policy(
      mean, std, noise, score, config.num_steps, config.step_size, config.bandwidth,
      config.truncation, config.log_det)
  return actions, log_probs


def critic_loss(config: Config, critic_params, target_critic, actor_params, alpha,
                batch: Transition, noise_next: jax.Array) -> jax.Array:
  """S2AC twin-critic loss (§3.4) with next-state particles from `noise_next [B, m, d]`.

  The particles follow the current policy (online critics in the score, held fixed here).
  """
  critic, _, _ = _nets(config, batch.action.shape[-1])
  next_actions, next_log_probs = policy(
      config, jax.lax.stop_gradient(critic_params), actor_params, alpha, batch.next_obs,
      noise_next)
  next_obs = jnp.broadcast_to(batch.next_obs[:, None, :],
                              next_actions.shape[:-1] + batch.next_obs.shape[-1:])
  return losses.s2ac_critic_loss(
      critic.apply(critic_params, batch.obs, batch.action), batch.reward,
      critic.apply(target_critic, next_obs, next_actions), next_log_probs, batch.terminal,
      config.discount, alpha)


def actor_loss(config: Config, actor_params, critic_params, alpha, obs: jax.Array,
               noise: jax.Array):
  """S2AC actor loss (§3.5) for states `[B, o]`, noise `[B, m, d]`; `(loss, log_probs [B, m])`.

  Differentiable in `actor_params` through `u0`, every SVGD step and the log-density.
  """
  critic, _, _ = _nets(config, noise.shape[-1])
  actions, log_probs = policy(config, critic_params, actor_params, alpha, obs, noise)
  obs_m = jnp.broadcast_to(obs[:, None, :], actions.shape[:-1] + obs.shape[-1:])
  q = critic.apply(critic_params, obs_m, actions)
  return losses.s2ac_actor_loss(q, log_probs, alpha), log_probs


def sampler_loss(config: Config, sampler_params, critic_params, alpha, obs: jax.Array,
                 noise: jax.Array):
  """Amortized SVGD surrogate for `f_psi` toward `exp(Q/alpha)` (§3.7 with §2.6).

  Args:
    obs: `[B, o]`.
    noise: standard normal `[B, m, d]`.
  Returns:
    scalar loss.
  """
  critic, _, sampler = _nets(config, noise.shape[-1])
  obs_m = jnp.broadcast_to(obs[:, None, :], noise.shape[:-1] + obs.shape[-1:])
  u = sampler.apply(sampler_params, obs_m, noise)
  fixed = jax.lax.stop_gradient(u)
  score = stein.action_value_score(
      lambda a: jnp.min(critic.apply(critic_params, obs_m, a), axis=0), alpha)
  direction = stein.svgd_direction(fixed, score(fixed), _bandwidth(config, fixed))
  return losses.amortized_svgd_surrogate(u, direction)


def _bandwidth(config: Config, particles: jax.Array) -> jax.Array:
  """RBF bandwidth `h` `[...]` of particles `[..., m, d]`: a §2.4 heuristic or the fixed value."""
  if isinstance(config.bandwidth, str):
    return kernels.bandwidth(particles, config.bandwidth)
  return jnp.full(particles.shape[:-2], config.bandwidth, particles.dtype)


def update(config: Config, state: TrainState, batch: Transition):
  """One critic, one `q0` (unless "phi"), one sampler ("amortized") and, with `auto_alpha`,
  one temperature step on `batch` (leaves `[B, ...]`); returns `(state, metrics)`."""
  opt = common.adam(config.learning_rate)
  params = state.params
  b, d, m = batch.reward.shape[0], params.action_size, config.num_particles
  key, k_next, k_now, k_sampler = jax.random.split(state.key, 4)
  c_loss, c_grads = jax.value_and_grad(critic_loss, argnums=1)(
      config, params.critic, state.target_critic, params.actor, state.alpha, batch,
      initial_noise(config, k_next, (b, m, d)))
  (a_loss, log_probs), a_grads = jax.value_and_grad(actor_loss, argnums=1, has_aux=True)(
      config, params.actor, params.critic, state.alpha, batch.obs,
      initial_noise(config, k_now, (b, m, d)))
  c_updates, critic_opt_state = opt.update(c_grads, state.critic_opt_state, params.critic)
  a_updates, actor_opt_state = opt.update(a_grads, state.actor_opt_state, params.actor)
  new_critic = optax.apply_updates(params.critic, c_updates)
  metrics = {"critic_loss": c_loss, "actor_loss": a_loss, "entropy": -jnp.mean(log_probs),
             "entropy_above_bound": stein.entropy_above_box_bound(log_probs, d)}
  sampler_params, sampler_opt_state = params.sampler, state.sampler_opt_state
  if config.variant == "amortized":
    s_loss, s_grads = jax.value_and_grad(sampler_loss, argnums=1)(
        config, params.sampler, params.critic, state.alpha, batch.obs,
        jax.random.normal(k_sampler, (b, m, d)))
    s_updates, sampler_opt_state = opt.update(s_grads, sampler_opt_state, params.sampler)
    sampler_params = optax.apply_updates(params.sampler, s_updates)
    metrics["sampler_loss"] = s_loss
  alpha, alpha_opt_state = common.tune_alpha(
      opt, state.alpha, state.alpha_opt_state, log_probs, common.target_entropy(config, d),
      config.auto_alpha)
  metrics["alpha"] = alpha
  step = state.step + 1
  new_state = state.replace(
      params=params.replace(critic=new_critic, actor=optax.apply_updates(params.actor, a_updates),
                            sampler=sampler_params, alpha=alpha),
      target_critic=common.update_target(state.target_critic, new_critic, step, 1, config.tau),
      critic_opt_state=critic_opt_state, actor_opt_state=actor_opt_state,
      sampler_opt_state=sampler_opt_state, alpha=alpha, alpha_opt_state=alpha_opt_state,
      step=step, key=key)
  return new_state, metrics


def act(config: Config, params: Params, obs: jax.Array, key: jax.Array, mode: str = "explore"):
  """Actions `[..., d]` for observations `[..., o]` (§3.6, §3.7).

  Modes: "explore" — one particle of the S2AC policy at random (training); "random",
  "softmax" (a particle with probability `∝ exp(Q/alpha)`), "max" (argmax Q) — evaluation-time
  selection with `Q = min_k Q_k` at the squashed particles; "eval" — `config.eval_selection`.
  For the "amortized" variant every evaluation mode draws its particles from `f_psi` (one
  forward pass; "random" draws a single particle).
  """
  if mode not in MODES:
    raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
  selection = config.eval_selection if mode == "eval" else mode
  d, m = params.action_size, config.num_particles
  k_noise, k_pick = jax.random.split(key)
  if mode != "explore" and config.variant == "amortized":
    _, _, sampler = _nets(config, d)
    n = 1 if selection == "random" else m
    noise = jax.random.normal(k_noise, obs.shape[:-1] + (n, d))
    obs_n = jnp.broadcast_to(obs[..., None, :], noise.shape[:-1] + obs.shape[-1:])
    actions = jnp.tanh(sampler.apply(params.sampler, obs_n, noise))
  else:
    noise = initial_noise(config, k_noise, obs.shape[:-1] + (m, d))
    actions, _ = policy(config, params.critic, params.actor, params.alpha, obs, noise)
  return select(config, params, obs, actions, k_pick, "random" if mode == "explore" else selection)


def select(config: Config, params: Params, obs: jax.Array, actions: jax.Array, key: jax.Array,
           selection: str) -> jax.Array:
  """One action per state from particles `actions [..., n, d]` at `obs [..., o]` (§3.6).

  Returns:
    `[..., d]`.
  """
  n = actions.shape[-2]
  if selection == "random":
    index = jax.random.randint(key, actions.shape[:-2], 0, n)
  else:
    obs_n = jnp.broadcast_to(obs[..., None, :], actions.shape[:-1] + obs.shape[-1:])
    q = q_values(config, params, obs_n, actions)
    if selection == "max":
      index = jnp.argmax(q, axis=-1)
    else:
      index = jax.random.categorical(key, q / params.alpha, axis=-1)
  return jnp.take_along_axis(actions, index[..., None, None], axis=-2)[..., 0, :]


def q_values(config: Config, params: Params, obs: jax.Array, action: jax.Array) -> jax.Array:
  """`min_k Q_k(s, a)`: `[..., o], [..., d] -> [...]` (for selection, figures, evaluation)."""
  critic, _, _ = _nets(config, params.action_size)
  return jnp.min(critic.apply(params.critic, obs, action), axis=0)


def entropy(config: Config, params: Params, obs: jax.Array, key: jax.Array) -> jax.Array:
  """Closed-form entropy estimate `H(s) = -(1/m) sum_i log pi(a_i|s)` (§3.3).

  Args:
    obs: `[..., o]`.
  Returns:
    `[...]`.
  """
  noise = initial_noise(config, key, obs.shape[:-1] + (config.num_particles, params.action_size))
  _, log_probs = policy(config, params.critic, params.actor, params.alpha, obs, noise)
  return -jnp.mean(log_probs, axis=-1)
