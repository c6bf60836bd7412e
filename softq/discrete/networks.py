"""Flax MLPs for §6: a Q-network `[A]` and a shared-torso actor-critic (logits `[A]`, value `[]`).

MinAtar frames (10×10×C) are flattened and fed to an MLP (cheaper than a conv net on CPU).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp


class Torso(nn.Module):
  """ReLU MLP, `[..., D] -> [..., hidden[-1]]`."""
  hidden: tuple[int, ...]

  @nn.compact
  def __call__(self, obs: jax.Array) -> jax.Array:
    x = obs
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
    return x


class QNetwork(nn.Module):
  """Action values, `[..., D] -> [..., A]`."""
  num_actions: int
  hidden: tuple[int, ...]

  @nn.compact
  def __call__(self, obs: jax.Array) -> jax.Array:
    return nn.Dense(self.num_actions)(Torso(self.hidden)(obs))


class ActorCritic(nn.Module):
  """Shared torso with a policy head and a value head, `[..., D] -> ([..., A], [...])`."""
  num_actions: int
  hidden: tuple[int, ...]

  @nn.compact
  def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
    x = Torso(self.hidden)(obs)
    logits = nn.Dense(self.num_actions, kernel_init=nn.initializers.orthogonal(0.01))(x)
    value = nn.Dense(1)(x)[..., 0]
    return logits, value


def init_params(module: nn.Module, key: jax.Array, obs_size: int):
  """Initialises `module` for flat observations of size `obs_size`."""
  return module.init(key, jnp.zeros((1, obs_size), jnp.float32))
