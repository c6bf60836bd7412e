"""The §4.4 quadruped maze: the walls are where §4.4 puts them and stop the ant, the centre of
mass equals MuJoCo's, the reward equals the formula on states set by hand, and flips and jumps
terminate."""

import math

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest

from softq import envs
from softq.envs import ant_maze

ENV = envs.make("ant_maze")
TASK = ENV.env.env  # EpisodeLimit -> ActionRescale -> AntMaze


def _q(x, y, z, rot=(1.0, 0.0, 0.0, 0.0)):
  return TASK.sys.init_q.at[:3].set(jnp.array([x, y, z])).at[3:7].set(jnp.array(rot))


@jax.jit
def _terms(q, action):
  state = TASK.pipeline_init(q, jnp.zeros(TASK.sys.qd_size()))
  return TASK.centre_of_mass(state), TASK.reward_terms(state, action)


def test_walls_are_boxes_at_the_given_places():
  model = mujoco.MjModel.from_xml_string(ant_maze.maze_xml())
  for i, (x, y, w, h) in enumerate(ant_maze.WALLS):
    geom = model.geom(f"wall_{i}")
    assert geom.type == mujoco.mjtGeom.mjGEOM_BOX
    np.testing.assert_allclose(geom.pos[:2] - geom.size[:2], [x, y])
    np.testing.assert_allclose(2 * geom.size[:2], [w, h])
    assert geom.conaffinity & 1 and geom.conaffinity & 2  # the feet's and the torso's bits
  assert model.geom("torso_geom").contype == 2


def test_a_wall_stops_the_ant():
  """Thrown at 12 m/s toward the left wall (inner face x = -1.25, 0.75 m away) the ant stays in
  the maze; thrown as fast into open floor it travels more than 2 m."""
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


def test_reward_equals_the_formula_on_states_set_by_hand():
  model = mujoco.MjModel.from_xml_string(ant_maze.maze_xml())
  data = mujoco.MjData(model)
  action = jnp.linspace(-1.0, 1.0, 8)
  for x, y in [(0.0, 0.0), (8.0, 0.0), (5.0, 2.5), (7.5, -1.0)]:
    q = _q(x, y, 0.6)
    com, terms = _terms(q, action)
    data.qpos[:] = np.asarray(q)
    mujoco.mj_forward(model, data)
    np.testing.assert_allclose(com, data.subtree_com[0], atol=1e-5)
    d2 = (data.subtree_com[0][0] - 8.0) ** 2 + data.subtree_com[0][1] ** 2
    want = 10.0 * math.exp(-math.log(100.0) / 64.0 * d2) - 0.5e-2 * float(jnp.sum(action**2))
    np.testing.assert_allclose(terms["reward"], want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(terms["distance"], math.sqrt(d2), rtol=1e-5, atol=1e-5)
    assert float(terms["done"]) == 0.0
  assert float(_terms(_q(8.0, 0.0, 0.6), jnp.zeros(8))[1]["goal_reward"]) == pytest.approx(
      10.0, rel=1e-6)  # the legs are symmetric: the centre of mass is under the torso


def test_flips_and_jumps_terminate():
  flipped = _q(0.0, 0.0, 0.6, rot=(0.0, 1.0, 0.0, 0.0))  # upside down about x
  tilted = _q(0.0, 0.0, 0.6, rot=(math.cos(0.6), math.sin(0.6), 0.0, 0.0))  # 69 degrees: fine
  jumped = _q(0.0, 0.0, 1.2)
  dones = [float(_terms(q, jnp.zeros(8))[1]["done"]) for q in (flipped, tilted, jumped)]
  assert dones == [1.0, 0.0, 1.0]


def test_episode_observes_the_centre_of_mass_and_truncates_at_500():
  assert ENV.limit == ant_maze.HORIZON == 500
  state = jax.jit(ENV.reset)(jax.random.key(0))
  assert state.obs.shape == (ENV.observation_size,) == (31,)
  np.testing.assert_allclose(state.obs[-2:], TASK.centre_of_mass(state.pipeline_state)[:2])
  with pytest.raises(ValueError, match="unknown backend 'spring' for ant_maze; accepted: mjx$"):
    envs.make("ant_maze", backend="spring")
