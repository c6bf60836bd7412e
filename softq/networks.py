"""Flax networks: Q functions (single and twin), the noise-input SVGD sampler, the DDPG actor,
the Gaussian policy of SAC and S2AC.

All networks are `flax.linen` modules over the last axis and accept any leading batch axes.
Actions are in `[-1, 1]^d`; the sampler returns pre-squash particles `u` (`a = tanh(u)`, §2.3).
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class MLP(nn.Module):
  """ReLU multilayer perceptron `[..., n_in] -> [..., out_size]`."""

  hidden: Sequence[int]
  out_size: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
    return nn.Dense(self.out_size)(x)


class QNetwork(nn.Module):
  """`Q(s, a)`: `obs [..., o], action [..., d] -> [...]` (input `[s, a]`, §2.8)."""

  hidden: Sequence[int]

  @nn.compact
  def __call__(self, obs: jax.Array, action: jax.Array) -> jax.Array:
    x = jnp.concatenate([obs, action], axis=-1)
    return MLP(self.hidden, 1)(x)[..., 0]


class TwinQNetwork(nn.Module):
  """Two independent Q heads: `obs [..., o], action [..., d] -> [2, ...]` (§3.4, §3.8)."""

  hidden: Sequence[int]

  @nn.compact
  def __call__(self, obs: jax.Array, action: jax.Array) -> jax.Array:
    return jnp.stack([QNetwork(self.hidden)(obs, action), QNetwork(self.hidden)(obs, action)])


class NoiseSampler(nn.Module):
  """Amortized SVGD sampler `u = f(s, xi)`: `obs [..., o], noise [..., d] -> [..., d]` (§2.3).

  Input is `[s, xi]`; the output is the pre-squash particle `u` (actions are `tanh(u)`).
  """

  hidden: Sequence[int]
  action_size: int

  @nn.compact
  def __call__(self, obs: jax.Array, noise: jax.Array) -> jax.Array:
    return MLP(self.hidden, self.action_size)(jnp.concatenate([obs, noise], axis=-1))


class DeterministicActor(nn.Module):
  """DDPG actor `mu(s) = tanh(MLP(s))`: `obs [..., o] -> [..., d]` in `[-1, 1]^d` (§2.9).

  With `return_preactivation=True` returns `(mu(s), MLP(s))`, both `[..., d]`.
  """

  hidden: Sequence[int]
  action_size: int

  @nn.compact
  def __call__(self, obs: jax.Array, return_preactivation: bool = False):
    preactivation = MLP(self.hidden, self.action_size)(obs)
    action = jnp.tanh(preactivation)
    return (action, preactivation) if return_preactivation else action


LOG_STD_RANGE = (-20.0, 2.0)


class GaussianPolicy(nn.Module):
  """Diagonal Gaussian over pre-squash actions: `obs [..., o] -> (mean, std)`, each `[..., d]`.

  `log std` is clipped to `LOG_STD_RANGE = [-20, 2]` (§3.9).
  """

  hidden: Sequence[int]
  action_size: int

  @nn.compact
  def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
    out = MLP(self.hidden, 2 * self.action_size)(obs)
    mean, log_std = jnp.split(out, 2, axis=-1)
    return mean, jnp.exp(jnp.clip(log_std, *LOG_STD_RANGE))


# Discrete-action networks of §6: observations (MinAtar frames flattened, cheaper than a conv
# net on CPU) to action values `[A]`, or to policy logits `[A]` and a state value `[]`.


class Torso(nn.Module):
  """ReLU MLP without an output layer, `[..., D] -> [..., hidden[-1]]` (§6)."""

  hidden: tuple[int, ...]

  @nn.compact
  def __call__(self, obs: jax.Array) -> jax.Array:
    x = obs
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
    return x


class DiscreteQNetwork(nn.Module):
  """Action values of a discrete-action task, `[..., D] -> [..., A]` (§6.2)."""

  num_actions: int
  hidden: tuple[int, ...]

  @nn.compact
  def __call__(self, obs: jax.Array) -> jax.Array:
    return nn.Dense(self.num_actions)(Torso(self.hidden)(obs))


class ActorCritic(nn.Module):
  """Shared torso with a policy head and a value head, `[..., D] -> ([..., A], [...])` (§6.3).

  The policy head starts near uniform (orthogonal init, scale 0.01).
  """

  num_actions: int
  hidden: tuple[int, ...]

  @nn.compact
  def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
    x = Torso(self.hidden)(obs)
    logits = nn.Dense(self.num_actions, kernel_init=nn.initializers.orthogonal(0.01))(x)
    value = nn.Dense(1)(x)[..., 0]
    return logits, value


def init_flat(module: nn.Module, key: jax.Array, obs_size: int):
  """Initialises an observation-only `module` for flat observations `[1, obs_size]`."""
  return module.init(key, jnp.zeros((1, obs_size), jnp.float32))
