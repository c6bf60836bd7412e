"""The asymmetric multi-goal task of Messaoud et al. 2024 §4.2 (§4.2) as a pure-JAX Brax
environment.

A point mass starts at the origin; goals `G1 = (5, 0)`, `G2 = (-4, 3)`, `G3 = (-4, -3)` are all at
distance 5, so they promise the same reward, but the two left goals leave more future entropy.
`s' = clip(s + clip(a), -7, 7)`; reward `-(30 ||a||^2 + min_g ||s' - g||^2)`, plus 10 and
termination once `||s' - g|| < 0.5`. The optional test-time obstacle is the segment
(-2, 0)–(0, 2): a step whose path touches it leaves the agent in place.

`state.info` carries `goal` (index of the goal reached at this step, -1 if none) and
`obstacle_hit` (1 where this step was blocked).
"""

import jax
import jax.numpy as jnp
from brax.envs.base import Env, State

GOALS = ((5.0, 0.0), (-4.0, 3.0), (-4.0, -3.0))
OBSTACLE = ((-2.0, 0.0), (0.0, 2.0))
PROBE_STATES = ((-3.5, -2.5), (-2.5, 0.5), (-1.0, 0.0), (0.0, 0.0), (1.0, 0.0), (4.0, 0.0))
BOUND = 7.0
HORIZON = 30
GOAL_RADIUS = 0.5
GOAL_REWARD = 10.0
ACTION_COST = 30.0


def crosses(start: jax.Array, end: jax.Array, a: jax.Array, b: jax.Array) -> jax.Array:
  """Whether segments `start–end` and `a–b` intersect (touching counts): `[..., 2] -> [...]`."""
  def cross(o, p, q):
    return (p[..., 0] - o[..., 0]) * (q[..., 1] - o[..., 1]) - (
        p[..., 1] - o[..., 1]) * (q[..., 0] - o[..., 0])
  return ((cross(a, b, start) * cross(a, b, end) <= 0)
          & (cross(start, end, a) * cross(start, end, b) <= 0))


def goal_distances(position: jax.Array) -> jax.Array:
  """Distances to the three goals: `[..., 2] -> [..., 3]`."""
  goals = jnp.asarray(GOALS, dtype=position.dtype)
  return jnp.linalg.norm(position[..., None, :] - goals, axis=-1)


class AsymmetricMultiGoal(Env):
  """Three goals, two on the left (§4.2); observation = position `[2]`, action `[2]`.

  Args:
    obstacle: add the test-time obstacle segment (-2, 0)–(0, 2).
  """

  def __init__(self, obstacle: bool = False):
    self.obstacle = obstacle

  def reset(self, rng: jax.Array) -> State:
    del rng  # the start is deterministic
    zero = jnp.zeros(())
    info = {"goal": jnp.full((), -1, jnp.int32), "obstacle_hit": zero}
    return State(pipeline_state=None, obs=jnp.zeros(2), reward=zero, done=zero, info=info)

  def step(self, state: State, action: jax.Array) -> State:
    position = state.obs
    action = jnp.clip(action, -1.0, 1.0)
    moved = jnp.clip(position + action, -BOUND, BOUND)
    hit = jnp.zeros((), bool)
    if self.obstacle:
      a, b = (jnp.asarray(p, position.dtype) for p in OBSTACLE)
      hit = crosses(position, moved, a, b)
      moved = jnp.where(hit, position, moved)
    dist = goal_distances(moved)
    reached = jnp.min(dist) < GOAL_RADIUS
    reward = (-(ACTION_COST * jnp.sum(action * action) + jnp.min(dist) ** 2)
              + GOAL_REWARD * reached)
    info = dict(state.info, goal=jnp.where(reached, jnp.argmin(dist), -1).astype(jnp.int32),
                obstacle_hit=hit.astype(jnp.float32))
    return state.replace(obs=moved, reward=reward, done=reached.astype(jnp.float32), info=info)

  @property
  def observation_size(self) -> int:
    return 2

  @property
  def action_size(self) -> int:
    return 2

  @property
  def backend(self) -> str:
    return "jax"


def with_obstacle() -> AsymmetricMultiGoal:
  """The test-time variant with the obstacle (§4.2)."""
  return AsymmetricMultiGoal(obstacle=True)
