"""DDPG, the deterministic baseline of soft Q-learning (§2.9).

Same critic architecture, learning rates and target copies as SQL (§2.8); hard Bellman targets
through a target actor and target critic; a deterministic actor `mu(s)` maximising `Q`.
Exploration noise (Ornstein–Uhlenbeck, §2.7, `Config.exploration`) is added by the training
loop.
"""

import dataclasses
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from softq import losses, networks
from softq.agents import base, common
from softq.types import Transition


@dataclasses.dataclass(frozen=True)
class Config(base.ExplorationConfig):
  """DDPG hyperparameters: network sizes, learning rates and target copies of §2.8.

  Haarnoja et al. 2017, App. D copies the targets every 1000 steps with tau = 1 for both SQL and
  DDPG (the default); `target_update_period=1` with a small `tau` gives Polyak averaging instead.
  `preactivation_penalty` (not in the paper; default 0) adds `penalty * ||pre-tanh output||^2` to
  the actor loss (`softq.losses.ddpg_actor_loss`), so a saturated actor can still be corrected.
  Exploration is Ornstein–Uhlenbeck noise (§2.7).
  """

  exploration: str = "ou"
  discount: float = 0.99
  critic_hidden: tuple = (200, 200)
  actor_hidden: tuple = (200, 200)
  critic_learning_rate: float = 1e-3
  actor_learning_rate: float = 1e-4
  batch_size: int = 64
  tau: float = 1.0
  target_update_period: int = 1000
  preactivation_penalty: float = 0.0

  def __post_init__(self):
    super().__post_init__()
    common.check_positive(self, "critic_learning_rate", "actor_learning_rate", "batch_size",
                          "target_update_period")
    common.check(self.preactivation_penalty >= 0.0, "preactivation_penalty", ">= 0",
                 self.preactivation_penalty)
    common.check(0.0 <= self.discount <= 1.0, "discount", "in [0, 1]", self.discount)
    common.check(0.0 < self.tau <= 1.0, "tau", "in (0, 1]", self.tau)
    common.check_hidden(self, "critic_hidden")
    common.check_hidden(self, "actor_hidden")


@flax.struct.dataclass
class Params:
  """What acting needs: critic and actor parameters."""

  critic: Any
  actor: Any
  action_size: int = flax.struct.field(pytree_node=False)


@flax.struct.dataclass
class TrainState:
  """Parameters, target parameters, optimizer states, step counter, PRNG key."""

  params: Params
  target_critic: Any
  target_actor: Any
  critic_opt_state: Any
  actor_opt_state: Any
  step: jax.Array
  key: jax.Array


def _nets(config: Config, action_size: int):
  return (networks.QNetwork(config.critic_hidden),
          networks.DeterministicActor(config.actor_hidden, action_size))


KIND = "continuous"
# Values a sweep sets per run -> the TrainState fields holding them (`base`, `softq.train`).
SWEEPABLE = {"critic_learning_rate": ("critic_opt_state",),
             "actor_learning_rate": ("actor_opt_state",)}


def _optimizers(config: Config):
  return common.adam(config.critic_learning_rate), common.adam(config.actor_learning_rate)


def init(config: Config, key: jax.Array, obs_size: int, action_size: int) -> TrainState:
  """Fresh parameters, identical targets, Adam states."""
  q_net, actor = _nets(config, action_size)
  q_opt, actor_opt = _optimizers(config)
  k_q, k_a, key = jax.random.split(key, 3)
  obs, act_ = jnp.zeros((1, obs_size)), jnp.zeros((1, action_size))
  params = Params(critic=q_net.init(k_q, obs, act_), actor=actor.init(k_a, obs),
                  action_size=action_size)
  return TrainState(params=params, target_critic=params.critic,
                    target_actor=params.actor, critic_opt_state=q_opt.init(params.critic),
                    actor_opt_state=actor_opt.init(params.actor),
                    step=jnp.zeros((), jnp.int32), key=key)


def update(config: Config, state: TrainState, batch: Transition):
  """One critic and one actor step on `batch` (leaves `[B, ...]`); returns `(state, metrics)`."""
  q_net, actor = _nets(config, state.params.action_size)
  q_opt, actor_opt = _optimizers(config)
  params = state.params

  next_q = q_net.apply(state.target_critic, batch.next_obs,
                       actor.apply(state.target_actor, batch.next_obs))
  targets = losses.ddpg_targets(batch.reward, next_q, batch.terminal, config.discount)

  def q_loss_fn(q_params):
    return losses.ddpg_critic_loss(q_net.apply(q_params, batch.obs, batch.action), targets)

  def actor_loss_fn(actor_params):
    action, preactivation = actor.apply(actor_params, batch.obs, return_preactivation=True)
    return losses.ddpg_actor_loss(q_net.apply(params.critic, batch.obs, action), preactivation,
                                  config.preactivation_penalty)

  q_loss, q_grads = jax.value_and_grad(q_loss_fn)(params.critic)
  a_loss, a_grads = jax.value_and_grad(actor_loss_fn)(params.actor)
  q_updates, critic_opt_state = q_opt.update(q_grads, state.critic_opt_state, params.critic)
  a_updates, a_opt_state = actor_opt.update(a_grads, state.actor_opt_state, params.actor)
  new_params = params.replace(critic=optax.apply_updates(params.critic, q_updates),
                              actor=optax.apply_updates(params.actor, a_updates))
  step = state.step + 1
  new_target_critic, new_target_actor = common.update_target(
      (state.target_critic, state.target_actor), (new_params.critic, new_params.actor), step,
      config.target_update_period, config.tau)
  new_state = state.replace(params=new_params, target_critic=new_target_critic,
                            target_actor=new_target_actor, critic_opt_state=critic_opt_state,
                            actor_opt_state=a_opt_state, step=step)
  return new_state, {"critic_loss": q_loss, "actor_loss": a_loss,
                     "target_mean": jnp.mean(targets)}


def act(config: Config, params: Params, obs: jax.Array, key: jax.Array, mode: str = "explore"):
  """Deterministic actions `mu(s)`: `[..., o] -> [..., d]` (noise is the training loop's)."""
  del key, mode
  _, actor = _nets(config, params.action_size)
  return actor.apply(params.actor, obs)


def q_values(config: Config, params: Params, obs: jax.Array, action: jax.Array) -> jax.Array:
  """`Q(s, a)`: `[..., o], [..., d] -> [...]` (for figures and evaluation)."""
  q_net, _ = _nets(config, params.action_size)
  return q_net.apply(params.critic, obs, action)
