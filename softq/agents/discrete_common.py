"""Rollouts, config fields, optimizer and acting helpers shared by the discrete §6 agents
(`a2c`, `soft_dqn`, `matched`)."""

import dataclasses

import flax.struct
import jax
import optax

from softq.agents import common

MODES = ("explore", "eval")


@flax.struct.dataclass
class Rollout:
  """`T` steps of `E` environments, time-major: the batch of a discrete agent's `update`.

  obs `[T, E, D]`, actions `[T, E]` int, rewards `[T, E]`, terminals `[T, E]` (termination),
  dones `[T, E]` (termination or truncation), next_obs `[T, E, D]` (the true successor).
  """
  obs: jax.Array
  actions: jax.Array
  rewards: jax.Array
  terminals: jax.Array
  dones: jax.Array
  next_obs: jax.Array


@dataclasses.dataclass(frozen=True)
class LearnerConfig:
  """Fields every §6 learner shares (validated in `__post_init__`).

  Attributes:
    tau: temperature `τ > 0` of the KL / entropy regulariser.
    discount: `γ` in [0, 1].
    learning_rate: Adam step size > 0.
    max_grad_norm: global-norm gradient clip > 0.
    hidden: MLP widths, a non-empty tuple of positive ints.
  """
  tau: float = 0.01
  discount: float = 0.99
  learning_rate: float = 7e-4
  max_grad_norm: float = 0.5
  hidden: tuple[int, ...] = (256, 256)

  def __post_init__(self):
    common.check_positive(self, "tau", "learning_rate", "max_grad_norm")
    common.check(0.0 <= self.discount <= 1.0, "discount", "in [0, 1]", self.discount)
    common.check_hidden(self, "hidden")


def make_optimizer(config: LearnerConfig) -> optax.GradientTransformation:
  """Adam with global-norm clipping (§6.5)."""
  return optax.chain(
      optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate))


def scale_gradient(x: jax.Array, scale: float) -> jax.Array:
  """Identity in the forward pass; multiplies the gradient flowing into `x` by `scale` (§6.5)."""
  return scale * x + jax.lax.stop_gradient((1.0 - scale) * x)


def check_mode(mode: str) -> None:
  """Raises `ValueError` unless `mode` is one of `MODES` ("explore", "eval")."""
  common.check(mode in MODES, "mode", f"one of {', '.join(MODES)}", mode)
