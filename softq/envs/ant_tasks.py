"""The soft Q-learning paper's quadruped tasks on MJX (§4.4–4.5): the maze, pre-training on the
planar speed of the centre of mass, and the fine-tuning hallways and U-maze.

Every task is Brax's ant with walls added to its MJCF as MuJoCo boxes, 2 m high (too high to
climb), which collide with the ant's torso and feet (the geoms Brax's ant gives contacts; its
legs touch nothing, not even the floor). A step's reward is the task's term of the centre of
mass minus `0.5e-2 ||a||^2`; an episode terminates when the torso flips (its up axis points below
the horizon) or jumps (torso z > 1), the paper's extra termination for the quadruped; the time
limit (500 steps) is truncation. The observation is Brax's ant observation with the torso's
(x, y) kept, plus the centre of mass `(x, y)`. Physics: MJX (box-sphere contacts).

Tasks (`TASKS`; walls as `(x, y, width along x, height along y)` of the lower-left corner):
- `ant_maze` (§4.4): the six walls of §4.4 make two passages to a goal at (8, 0), the upper one
  blocked; reward `10 exp(-b ||com_xy - goal||^2)`, `b = ln(100) / 64`.
- `ant_speed` (§4.5 pre-training): open floor; reward the planar speed of the centre of mass over
  the step, in any direction.
- `ant_hallway_wide` / `ant_hallway_narrow` (§4.5): a hallway 3 / 2 m wide and 30 m long, closed
  1 m behind the start; reward the centre of mass's velocity along it (+x).
- `ant_u_maze` (§4.5): a U-shaped corridor 3 m wide from the start around a divider to a goal at
  (0, 8); reward the Gaussian bump of the maze at that goal.
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
BUMP_HEIGHT = 10.0
BUMP_RATE = math.log(100.0) / 64.0  # b: the bump falls to 1 % of its peak 8 m from the goal
CTRL_COST = 0.5e-2
JUMP_Z = 1.0
WALL_HEIGHT = 2.0
MAZE_GOAL = (8.0, 0.0)
MAZE_WALLS = ((-1.25, -4.5, 10.0, 1.0), (-1.25, 3.5, 10.0, 1.0), (-2.25, -4.5, 1.0, 9.0),
              (8.75, -4.5, 1.0, 9.0), (1.75, -0.5, 5.0, 1.0), (6.25, 0.5, 3.0, 1.0))
HALLWAY_LENGTH = 30.0
U_MAZE_GOAL = (0.0, 8.0)
U_MAZE_WALLS = ((-2.5, -2.5, 13.0, 1.0), (-2.5, 9.5, 13.0, 1.0), (-2.5, -2.5, 1.0, 13.0),
                (9.5, -2.5, 1.0, 13.0), (-1.5, 1.5, 8.5, 5.0))
BACKENDS = ("mjx",)
# Contact bits: feet have contype 1 (they touch the floor), the torso gets bit 2; walls accept both.
_TORSO_CONTYPE, _WALL_CONAFFINITY = 2, 3


def hallway_walls(width: float, length: float = HALLWAY_LENGTH) -> tuple:
  """The §4.5 hallway: side walls `width` apart along `x in [-1, length - 1]` and the two end
  walls, as `(x, y, width, height)` rectangles."""
  half = width / 2.0
  return ((-2.0, half, length + 2.0, 1.0), (-2.0, -half - 1.0, length + 2.0, 1.0),
          (-2.0, -half, 1.0, width), (length - 1.0, -half, 1.0, width))


def maze_xml(walls=MAZE_WALLS) -> str:
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


def goal_bump(goal):
  """Task term `10 exp(-b ||com_xy - goal||^2)` (§4.4), with the distance as a metric."""
  def term(com0, com1, dt):
    del com0, dt
    gap = com1[:2] - jnp.asarray(goal, com1.dtype)
    distance_sq = jnp.sum(gap * gap)
    return BUMP_HEIGHT * jnp.exp(-BUMP_RATE * distance_sq), {"distance": jnp.sqrt(distance_sq)}
  return term


def planar_speed(com0, com1, dt):
  """Task term: the centre of mass's planar speed over the step, any direction (§4.5)."""
  return jnp.linalg.norm((com1[:2] - com0[:2]) / dt), {}


def forward_velocity(com0, com1, dt):
  """Task term: the centre of mass's velocity along +x over the step (the hallways)."""
  return (com1[0] - com0[0]) / dt, {}


class WalledAnt(Ant):
  """Brax's ant among `walls`, rewarded by `term(com_before, com_after, dt) -> (value, metrics)`
  minus the control cost; terminates on a flip or a jump."""

  def __init__(self, walls, term, backend: str = "mjx"):
    super().__init__(ctrl_cost_weight=CTRL_COST, terminate_when_unhealthy=False,
                     exclude_current_positions_from_observation=False, backend=backend)
    # Brax's Ant builds its system from its own file; the same MJX solver options as there.
    self.sys = mjcf.loads(maze_xml(walls)).tree_replace({
        "opt.solver": mujoco.mjtSolver.mjSOL_NEWTON,
        "opt.disableflags": mujoco.mjtDisableBit.mjDSBL_EULERDAMP,
        "opt.iterations": 1,
        "opt.ls_iterations": 4,
    })
    self.walls, self._term = walls, term

  @property
  def observation_size(self) -> int:
    return self.sys.q_size() + self.sys.qd_size() + 2  # Brax's would run a reset eagerly

  def centre_of_mass(self, pipeline_state) -> jax.Array:
    """The ant's centre of mass `[3]` (`physics.centre_of_mass`)."""
    return physics.centre_of_mass(self.sys, pipeline_state)

  def reward_terms(self, before, after, action: jax.Array) -> dict[str, jax.Array]:
    """The reward of a step `before -> after` under `action` `[8]`, its parts and `done`."""
    com0, com1 = self.centre_of_mass(before), self.centre_of_mass(after)
    task, extra = self._term(com0, com1, self.dt)
    ctrl = self._ctrl_cost_weight * jnp.sum(jnp.square(action))
    up_z = 1.0 - 2.0 * jnp.sum(jnp.square(after.x.rot[0, 1:3]))  # torso z axis, world z part
    done = (up_z < 0.0) | (after.x.pos[0, 2] > JUMP_Z)
    return {"reward": task - ctrl, "task_reward": task, "reward_ctrl": -ctrl, **extra,
            "com_x": com1[0], "com_y": com1[1], "done": done.astype(com1.dtype)}

  def reset(self, rng: jax.Array) -> State:
    state = super().reset(rng)
    terms = self.reward_terms(state.pipeline_state, state.pipeline_state,
                              jnp.zeros(self.action_size))
    del terms["reward"], terms["done"]
    return state.replace(obs=self._observe(state.pipeline_state), metrics=terms)

  def step(self, state: State, action: jax.Array) -> State:
    pipeline_state = self.pipeline_step(state.pipeline_state, action)
    terms = self.reward_terms(state.pipeline_state, pipeline_state, action)
    reward, done = terms.pop("reward"), terms.pop("done")
    return state.replace(pipeline_state=pipeline_state, obs=self._observe(pipeline_state),
                         reward=reward, done=done, metrics=terms)

  def _observe(self, pipeline_state) -> jax.Array:
    com = self.centre_of_mass(pipeline_state)
    return jnp.concatenate([self._get_obs(pipeline_state), com[:2]])


TASKS = {
    "ant_maze": (MAZE_WALLS, goal_bump(MAZE_GOAL)),
    "ant_speed": ((), planar_speed),
    "ant_hallway_wide": (hallway_walls(3.0), forward_velocity),
    "ant_hallway_narrow": (hallway_walls(2.0), forward_velocity),
    "ant_u_maze": (U_MAZE_WALLS, goal_bump(U_MAZE_GOAL)),
}


def make(name: str, backend: str | None) -> tuple[physics.ActionRescale, int]:
  """Task `name` of `TASKS` (actions in `[-1, 1]^8`) and its horizon; `ValueError` listing
  `BACKENDS` for another backend."""
  backend = backend or BACKENDS[0]
  if backend not in BACKENDS:
    raise ValueError(f"unknown backend {backend!r} for {name}; accepted: {', '.join(BACKENDS)}")
  walls, term = TASKS[name]
  return physics.ActionRescale(WalledAnt(walls, term, backend)), HORIZON
