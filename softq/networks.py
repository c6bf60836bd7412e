"""Flax networks: Q functions (single and twin), the noise-input SVGD sampler, the DDPG actor.

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
