"""The quadruped tasks of §4.4–4.5: the walls are where they should be and stop the ant, the
centre of mass equals MuJoCo's, each task's reward equals its formula on states set by hand, and
flips and jumps terminate."""

import math

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest

from softq import envs
from softq.envs import ant_tasks

ENV = envs.make("ant_maze")
TASK = ENV.env.env  # EpisodeLimit -> ActionRescale -> WalledAnt
NAMES = ("ant_maze", "ant_speed", "ant_hallway_wide", "ant_hallway_narrow", "ant_u_maze")


def _q(x, y, z, rot=(1.0, 0.0, 0.0, 0.0)):
  return TASK.sys.init_q.at[:3].set(jnp.array([x, y, z])).at[3:7].set(jnp.array(rot))


@jax.jit
def _terms(q_before, q_after, action):
  zeros = jnp.zeros(TASK.sys.qd_size())
  before, after = TASK.pipeline_init(q_before, zeros), TASK.pipeline_init(q_after, zeros)
  return (TASK.centre_of_mass(before), TASK.centre_of_mass(after),
          TASK.reward_terms(before, after, action))


def _mujoco_com(model, q) -> np.ndarray:
  data = mujoco.MjData(model)
  data.qpos[:] = np.asarray(q)
  mujoco.mj_forward(model, data)
  return data.subtree_com[0].copy()  # the world body's subtree: the whole ant


@pytest.mark.parametrize("name", NAMES)
def test_walls_are_boxes_at_the_given_places(name):
  walls, _ = ant_tasks.TASKS[name]
  model = mujoco.MjModel.from_xml_string(ant_tasks.maze_xml(walls))
  for i, (x, y, w, h) in enumerate(walls):
    geom = model.geom(f"wall_{i}")
    assert geom.type == mujoco.mjtGeom.mjGEOM_BOX
    np.testing.assert_allclose(geom.pos[:2] - geom.size[:2], [x, y])
    np.testing.assert_allclose(2 * geom.size[:2], [w, h])
    np.testing.assert_allclose(2 * geom.size[2], ant_tasks.WALL_HEIGHT)
    assert geom.conaffinity & 1 and geom.conaffinity & 2  # the feet's and the torso's bits
  assert model.ngeom == mujoco.MjModel.from_xml_string(ant_tasks.maze_xml(())).ngeom + len(walls)
  assert model.geom("torso_geom").contype == 2
  env = envs.make(name)
  assert env.limit == 500 and env.observation_size == 31 and env.action_size == 8


def test_hallways_are_30_long_and_3_or_2_wide():
  for name, width in (("ant_hallway_wide", 3.0), ("ant_hallway_narrow", 2.0)):
    left, right, back, front = ant_tasks.TASKS[name][0]
    assert left[1] - (right[1] + right[3]) == width  # between the side walls
    assert front[0] - (back[0] + back[2]) == 30.0  # between the end walls
    assert back[0] + back[2] == -1.0  # 1 m behind the start


def test_a_wall_stops_the_ant():
  """Thrown at 12 m/s toward the maze's left wall (inner face x = -1.25, 0.75 m away) the ant
  stays inside; thrown as fast over open floor it travels more than 2 m."""
  def throw(start, velocity):
    qd = jnp.zeros(TASK.sys.qd_size()).at[:2].set(velocity)
    state = TASK.pipeline_init(_q(*start), qd)

    def body(s, _):
      s = TASK.pipeline_step(s, jnp.zeros(8))
      return s, TASK.centre_of_mass(s)
    return jax.lax.scan(body, state, None, length=30)[1]

  coms = jax.jit(jax.vmap(throw))(jnp.array([[-0.5, 0.0, 0.8], [0.0, 0.0, 0.8]]),
                                  jnp.array([[-12.0, 0.0], [0.0, -12.0]]))
  assert float(jnp.min(coms[0, :, 0])) > -1.25
  assert float(coms[1, -1, 1]) < -2.0


def test_maze_reward_equals_the_formula_on_states_set_by_hand():
  model = mujoco.MjModel.from_xml_string(ant_tasks.maze_xml())
  action = jnp.linspace(-1.0, 1.0, 8)
  ctrl = 0.5e-2 * float(jnp.sum(action**2))
  for x, y in [(0.0, 0.0), (8.0, 0.0), (5.0, 2.5), (7.5, -1.0)]:
    q = _q(x, y, 0.6)
    com, _, terms = _terms(q, q, action)
    mj = _mujoco_com(model, q)
    np.testing.assert_allclose(com, mj, atol=1e-5)
    d2 = (mj[0] - 8.0) ** 2 + mj[1] ** 2
    want = 10.0 * math.exp(-math.log(100.0) / 64.0 * d2) - ctrl
    np.testing.assert_allclose(terms["reward"], want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(terms["distance"], math.sqrt(d2), rtol=1e-5, atol=1e-5)
    assert float(terms["done"]) == 0.0
  assert float(_terms(_q(8.0, 0.0, 0.6), _q(8.0, 0.0, 0.6), jnp.zeros(8))[2]["task_reward"]
               ) == pytest.approx(10.0, rel=1e-6)  # symmetric legs: the centre is under the torso


def test_speed_hallway_and_u_maze_terms_equal_their_formulas():
  q0 = _q(1.0, 2.0, 0.6)
  dt = float(TASK.dt)
  for shift in ((0.3, 0.0), (-0.3, 0.0), (0.0, 0.3), (0.18, -0.24)):
    q1 = q0.at[:2].add(jnp.array(shift))
    com0, com1, _ = _terms(q0, q1, jnp.zeros(8))
    speed, _ = ant_tasks.planar_speed(com0, com1, dt)
    np.testing.assert_allclose(speed, 0.3 / dt, rtol=1e-4)  # any direction counts
    forward, _ = ant_tasks.forward_velocity(com0, com1, dt)
    np.testing.assert_allclose(forward, shift[0] / dt, rtol=1e-4, atol=1e-3)  # only +x counts
  bump, extra = ant_tasks.goal_bump(ant_tasks.U_MAZE_GOAL)(com0, com1, dt)
  d2 = float((com1[0] - 0.0) ** 2 + (com1[1] - 8.0) ** 2)
  np.testing.assert_allclose(bump, 10.0 * math.exp(-math.log(100.0) / 64.0 * d2), rtol=1e-5)
  np.testing.assert_allclose(extra["distance"], math.sqrt(d2), rtol=1e-5)
  tasks = ant_tasks.TASKS
  assert tasks["ant_speed"][1] is ant_tasks.planar_speed and tasks["ant_speed"][0] == ()
  assert tasks["ant_hallway_wide"][1] is tasks["ant_hallway_narrow"][1] is (
      ant_tasks.forward_velocity)


def test_flips_and_jumps_terminate():
  flipped = _q(0.0, 0.0, 0.6, rot=(0.0, 1.0, 0.0, 0.0))  # upside down about x
  tilted = _q(0.0, 0.0, 0.6, rot=(math.cos(0.6), math.sin(0.6), 0.0, 0.0))  # 69 degrees: fine
  jumped = _q(0.0, 0.0, 1.2)
  dones = [float(_terms(q, q, jnp.zeros(8))[2]["done"]) for q in (flipped, tilted, jumped)]
  assert dones == [1.0, 0.0, 1.0]


def test_episode_observes_the_centre_of_mass_and_refuses_other_backends():
  state = jax.jit(ENV.reset)(jax.random.key(0))
  assert state.obs.shape == (ENV.observation_size,) == (31,)
  np.testing.assert_allclose(state.obs[-2:], TASK.centre_of_mass(state.pipeline_state)[:2])
  with pytest.raises(ValueError, match="unknown backend 'spring' for ant_u_maze; accepted: mjx$"):
    envs.make("ant_u_maze", backend="spring")
