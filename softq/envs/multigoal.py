"""The multi-goal point-mass task of Haarnoja et al. 2017 §5.1 (§4.1) as a pure-JAX Brax
environment.

State `s in [-7, 7]^2` (the observation), action `a in [-1, 1]^2`, `s' = clip(s + clip(a), -7, 7)`,
start exactly at the origin, no noise, never terminates (the horizon comes from a wrapper).
Reward on the pre-step state: `r(s) = mean_g 10 exp(-b ||s - g||^2)`, `b = ln(100) / 25`.
"""

import math

import jax
import jax.numpy as jnp
from brax.envs.base import Env, State

GOALS = ((5.0, 0.0), (-5.0, 0.0), (0.0, 5.0), (0.0, -5.0))
BOUND = 7.0
HORIZON = 20
REWARD_WIDTH = math.log(100.0) / 25.0


def reward(position: jax.Array) -> jax.Array:
  """`r(s) = mean_g 10 exp(-b ||s - g||^2)` for positions `[..., 2]` -> `[...]` (§4.1)."""
  goals = jnp.asarray(GOALS, dtype=position.dtype)
  sq = jnp.sum(jnp.square(position[..., None, :] - goals), axis=-1)
  return jnp.mean(10.0 * jnp.exp(-REWARD_WIDTH * sq), axis=-1)


class MultiGoal(Env):
  """Four goals at distance 5 from the origin; observation = position `[2]`, action `[2]`."""

  def reset(self, rng: jax.Array) -> State:
    del rng  # the start is deterministic
    zero = jnp.zeros(())
    return State(pipeline_state=None, obs=jnp.zeros(2), reward=zero, done=zero)

  def step(self, state: State, action: jax.Array) -> State:
    position = state.obs
    moved = jnp.clip(position + jnp.clip(action, -1.0, 1.0), -BOUND, BOUND)
    return state.replace(obs=moved, reward=reward(position), done=jnp.zeros(()))

  @property
  def observation_size(self) -> int:
    return 2

  @property
  def action_size(self) -> int:
    return 2

  @property
  def backend(self) -> str:
    return "jax"


def goal_counts(final_positions: jax.Array, radius: float = 1.0) -> jax.Array:
  """How many paths end within `radius` of each goal: `[..., E, 2] -> [..., 4]` (int)."""
  goals = jnp.asarray(GOALS, dtype=final_positions.dtype)
  dist = jnp.linalg.norm(final_positions[..., :, None, :] - goals, axis=-1)
  return jnp.sum(dist < radius, axis=-2)
