"""Quadruped maze (§4.4): Brax's ant among walls that make two passages to a goal at (8, 0), the
upper one blocked by a barrier; the reward is a Gaussian bump at the goal.

The walls are MuJoCo boxes added to Brax's ant MJCF, 2 m high (too high to climb), and collide with the ant's torso
and feet (the geoms Brax's ant gives contacts; its legs touch nothing, not even the floor). The
reward of a step is `10 exp(-b ||com_xy - goal||^2) - 0.5e-2 ||a||^2`, `b = ln(100) / 64`, with
the centre of mass after the step; an episode terminates when the torso flips (its up axis
points below the horizon) or jumps (torso z > 1); the time limit (500 steps) is truncation. The
observation is Brax's ant observation with the torso's (x, y) kept, plus the centre of mass
`(x, y)`. Physics: MJX (box-sphere contacts; Brax's other backends are not used here).
"""

import math
import os

import brax
import jax
import jax.numpy as jnp
import mujoco
from brax.envs.ant import Ant
from brax.envs.base import State
from brax.io import mjcf

from softq.envs import physics

HORIZON = 500
GOAL = (8.0, 0.0)
BUMP_HEIGHT = 10.0
BUMP_RATE = math.log(100.0) / 64.0  # b: the bump falls to 1 % of its peak 8 m from the goal
CTRL_COST = 0.5e-2
JUMP_Z = 1.0
WALL_HEIGHT = 2.0
# (x, y, width along x, height along y) of each wall's lower-left corner and extent (§4.4).
WALLS = ((-1.25, -4.5, 10.0, 1.0), (-1.25, 3.5, 10.0, 1.0), (-2.25, -4.5, 1.0, 9.0),
         (8.75, -4.5, 1.0, 9.0), (1.75, -0.5, 5.0, 1.0), (6.25, 0.5, 3.0, 1.0))
BACKENDS = ("mjx",)
# Contact bits: feet have contype 1 (they touch the floor), the torso gets bit 2; walls accept both.
_TORSO_CONTYPE, _WALL_CONAFFINITY = 2, 3


def maze_xml(walls=WALLS) -> str:
  """Brax's ant MJCF with `walls` as boxes on the floor and a torso that collides with them."""
  path = os.path.join(os.path.dirname(brax.__file__), "envs", "assets", "ant.xml")
  with open(path) as f:
    xml = f.read()
  torso = '<geom name="torso_geom" pos="0 0 0" size="0.25" type="sphere"/>'
  if torso not in xml:
    raise RuntimeError(f"Brax's ant.xml changed: no {torso!r} in {path}")
  xml = xml.replace(torso, torso.replace("/>", f' contype="{_TORSO_CONTYPE}"/>'))
  boxes = "".join(
      f'<geom name="wall_{i}" type="box" pos="{x + w / 2} {y + h / 2} {WALL_HEIGHT / 2}" '
      f'size="{w / 2} {h / 2} {WALL_HEIGHT / 2}" contype="0" '
      f'conaffinity="{_WALL_CONAFFINITY}" rgba="0.7 0.7 0.75 1"/>'
      for i, (x, y, w, h) in enumerate(walls))
  return xml.replace("</worldbody>", boxes + "</worldbody>", 1)


class AntMaze(Ant):
  """The §4.4 maze: reward `10 exp(-b ||com_xy - (8, 0)||^2)` minus control cost."""

  def __init__(self, backend: str = "mjx", walls=WALLS):
    super().__init__(ctrl_cost_weight=CTRL_COST, terminate_when_unhealthy=False,
                     exclude_current_positions_from_observation=False, backend=backend)
    # Brax's Ant builds its system from its own file; the same MJX solver options as there.
    self.sys = mjcf.loads(maze_xml(walls)).tree_replace({
        "opt.solver": mujoco.mjtSolver.mjSOL_NEWTON,
        "opt.disableflags": mujoco.mjtDisableBit.mjDSBL_EULERDAMP,
        "opt.iterations": 1,
        "opt.ls_iterations": 4,
    })
    self.walls = walls

  @property
  def observation_size(self) -> int:
    return self.sys.q_size() + self.sys.qd_size() + 2  # Brax's would run a reset eagerly

  def centre_of_mass(self, pipeline_state) -> jax.Array:
    """The ant's centre of mass `[3]`: link centres of mass weighted by link masses."""
    inertia = self.sys.link.inertia
    link_com = pipeline_state.x.vmap().do(inertia.transform).pos
    return jnp.sum(inertia.mass[:, None] * link_com, axis=0) / jnp.sum(inertia.mass)

  def reward_terms(self, after, action: jax.Array) -> dict[str, jax.Array]:
    """The §4.4 reward of a step ending in `after` under `action` `[8]`, its parts, `done`."""
    com = self.centre_of_mass(after)
    gap = com[:2] - jnp.asarray(GOAL, com.dtype)
    distance_sq = jnp.sum(gap * gap)
    bump = BUMP_HEIGHT * jnp.exp(-BUMP_RATE * distance_sq)
    ctrl = self._ctrl_cost_weight * jnp.sum(jnp.square(action))
    up_z = 1.0 - 2.0 * jnp.sum(jnp.square(after.x.rot[0, 1:3]))  # torso z axis, world z part
    done = (up_z < 0.0) | (after.x.pos[0, 2] > JUMP_Z)
    return {"reward": bump - ctrl, "goal_reward": bump, "reward_ctrl": -ctrl,
            "distance": jnp.sqrt(distance_sq), "com_x": com[0], "com_y": com[1],
            "done": done.astype(com.dtype)}

  def reset(self, rng: jax.Array) -> State:
    state = super().reset(rng)
    terms = self.reward_terms(state.pipeline_state, jnp.zeros(self.action_size))
    del terms["reward"], terms["done"]
    return state.replace(obs=self._observe(state.pipeline_state), metrics=terms)

  def step(self, state: State, action: jax.Array) -> State:
    pipeline_state = self.pipeline_step(state.pipeline_state, action)
    terms = self.reward_terms(pipeline_state, action)
    reward, done = terms.pop("reward"), terms.pop("done")
    return state.replace(pipeline_state=pipeline_state, obs=self._observe(pipeline_state),
                         reward=reward, done=done, metrics=terms)

  def _observe(self, pipeline_state) -> jax.Array:
    com = self.centre_of_mass(pipeline_state)
    return jnp.concatenate([self._get_obs(pipeline_state), com[:2]])


def make(backend: str | None) -> tuple[physics.ActionRescale, int]:
  """The task (actions in `[-1, 1]^8`) and its horizon; `ValueError` listing `BACKENDS`."""
  backend = backend or BACKENDS[0]
  if backend not in BACKENDS:
    raise ValueError(f"unknown backend {backend!r} for ant_maze; accepted: {', '.join(BACKENDS)}")
  return physics.ActionRescale(AntMaze(backend)), HORIZON
