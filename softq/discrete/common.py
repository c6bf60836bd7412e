"""State, rollout and config pieces shared by the §6 discrete learners."""

import dataclasses

import flax.struct
import jax
import optax


@flax.struct.dataclass
class AgentState:
  """Learner state: online and target parameters, optimizer state, update counter."""
  params: dict
  target_params: dict
  opt_state: optax.OptState
  step: jax.Array


@flax.struct.dataclass
class Rollout:
  """`T` steps of `E` environments, time-major.

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
    hidden: MLP widths, each > 0.
  """
  tau: float = 0.01
  discount: float = 0.99
  learning_rate: float = 7e-4
  max_grad_norm: float = 0.5
  hidden: tuple[int, ...] = (256, 256)

  def __post_init__(self):
    check_positive(self, "tau", "learning_rate", "max_grad_norm")
    if not 0.0 <= self.discount <= 1.0:
      raise ValueError(f"discount must be in [0, 1], got {self.discount}")
    if not self.hidden or min(self.hidden) <= 0:
      raise ValueError(f"hidden must be a non-empty tuple of positive widths, got {self.hidden}")


def check_positive(config, *names: str) -> None:
  """Raises ValueError naming the first field of `config` among `names` that is not > 0."""
  for name in names:
    value = getattr(config, name)
    if not value > 0:
      raise ValueError(f"{name} must be > 0, got {value}")


def make_optimizer(config: LearnerConfig) -> optax.GradientTransformation:
  """Adam with global-norm clipping."""
  return optax.chain(
      optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate))


def scale_gradient(x: jax.Array, scale: float) -> jax.Array:
  """Identity in the forward pass; multiplies the gradient flowing into `x` by `scale` (§6.5)."""
  return scale * x + jax.lax.stop_gradient((1.0 - scale) * x)
