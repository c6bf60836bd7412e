"""The §4.3 swimmer with a finish line: its centre of mass equals MuJoCo's, its reward equals the
formula on states set by hand, speed counts in both directions, and the bonus switches on exactly
past x = 1.5."""

import os

import brax
import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest

from softq import envs
from softq.envs import swimmer_finish

ENV = envs.make("swimmer_finish")
TASK = ENV.env.env  # EpisodeLimit -> ActionRescale -> SwimmerFinish
XML = os.path.join(os.path.dirname(brax.__file__), "envs", "assets", "swimmer.xml")


@jax.jit
def _terms(q_before, q_after, action):
  before = TASK.pipeline_init(q_before, jnp.zeros(5))
  after = TASK.pipeline_init(q_after, jnp.zeros(5))
  return TASK.centre_of_mass(before), TASK.reward_terms(before, after, action)


def _mujoco_com(q) -> np.ndarray:
  model = mujoco.MjModel.from_xml_path(XML)
  data = mujoco.MjData(model)
  data.qpos[:] = q
  mujoco.mj_forward(model, data)
  return data.subtree_com[0]  # the world body's subtree: the whole swimmer


def test_reward_equals_the_formula_on_states_set_by_hand():
  q0 = np.array([0.3, -0.2, 0.4, 0.5, -0.7])
  q1 = q0 + np.array([0.05, -0.02, 0.1, -0.2, 0.3])  # a step that also bends the joints
  action = jnp.array([0.6, -0.8])
  com0, terms = _terms(q0, q1, action)
  mj0, mj1 = _mujoco_com(q0), _mujoco_com(q1)
  np.testing.assert_allclose(com0, mj0, atol=1e-6)
  speed = np.linalg.norm(mj1[:2] - mj0[:2]) / TASK.dt
  want = speed - 0.5e-2 * (0.6**2 + 0.8**2)
  np.testing.assert_allclose(terms["reward"], want, rtol=1e-5)
  np.testing.assert_allclose([terms["com_x"], terms["com_y"]], mj1[:2], atol=1e-6)
  assert float(terms["finish_bonus"]) == 0.0
  assert TASK.dt == pytest.approx(0.04)


def test_speed_counts_forward_and_backward_alike():
  q = np.array([0.0, 0.1, 0.2, -0.3, 0.4])
  shift = np.array([0.03, 0.0, 0.0, 0.0, 0.0])
  _, forward = _terms(q, q + shift, jnp.zeros(2))
  _, backward = _terms(q, q - shift, jnp.zeros(2))
  np.testing.assert_allclose(forward["speed"], 0.03 / TASK.dt, rtol=1e-4)
  np.testing.assert_allclose(backward["speed"], forward["speed"], rtol=1e-5)


def test_finish_bonus_switches_on_exactly_past_the_line():
  q = np.array([0.0, 0.2, 0.0, 0.5, -0.5])
  offset = float(_terms(q, q, jnp.zeros(2))[1]["com_x"])  # com_x at slider 0
  for gap, bonus in [(-1e-3, 0.0), (-1e-4, 0.0), (1e-4, 1.0), (1e-3, 1.0), (5.0, 1.0)]:
    moved = q + np.array([swimmer_finish.FINISH_X - offset + gap, 0, 0, 0, 0])
    _, terms = _terms(moved, moved, jnp.zeros(2))
    assert float(terms["finish_bonus"]) == bonus, gap
    # Standing still otherwise (a float32 rounding of com / dt is ~1e-6).
    np.testing.assert_allclose(terms["reward"], bonus, atol=1e-5)


def test_episode_observes_the_centre_of_mass_and_truncates_at_500():
  assert ENV.limit == swimmer_finish.HORIZON == 500
  state = jax.jit(ENV.reset)(jax.random.key(0))
  assert state.obs.shape == (ENV.observation_size,) == (10,)
  com = TASK.centre_of_mass(state.pipeline_state)
  np.testing.assert_array_equal(state.obs[-2:], com[:2])
  stepped = jax.jit(ENV.step)(state, jnp.array([1.0, -1.0]))
  assert float(stepped.done) == 0.0
  np.testing.assert_allclose(stepped.obs[-2:], [stepped.metrics["com_x"],
                                                stepped.metrics["com_y"]])


def test_other_backends_are_refused_with_the_accepted_one():
  with pytest.raises(ValueError, match="unknown backend 'mjx' for swimmer_finish; accepted: "
                                       "generalized$"):
    envs.make("swimmer_finish", backend="mjx")
