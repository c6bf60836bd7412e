"""softq.envs: the multi-goal task (§4.1), episode limits and reset-on-done stepping."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from softq import envs
from softq.envs import multigoal
from softq.envs.wrappers import step_and_reset


def test_multigoal_reward_and_dynamics():
  assert abs(float(multigoal.reward(jnp.zeros(2))) - 0.1) < 1e-6
  at_goal = float(multigoal.reward(jnp.array([5.0, 0.0])))
  others = 10 * (math.exp(-multigoal.REWARD_WIDTH * 100) + 2 * math.exp(
      -multigoal.REWARD_WIDTH * 50))
  assert abs(at_goal - (10 + others) / 4) < 1e-5
  env = multigoal.MultiGoal()
  s = env.reset(jax.random.key(0))
  np.testing.assert_array_equal(s.obs, [0.0, 0.0])
  s = env.step(s.replace(obs=jnp.array([6.5, 0.0])), jnp.array([3.0, -0.4]))
  np.testing.assert_allclose(s.obs, [7.0, -0.4])  # action clipped to 1, state clipped to 7
  assert abs(float(s.reward) - float(multigoal.reward(jnp.array([6.5, 0.0])))) < 1e-7
  assert float(s.done) == 0.0


def test_goal_counts():
  finals = jnp.array([[5.2, 0.1], [0.0, -4.5], [0.0, 0.0], [4.9, -0.3]])
  np.testing.assert_array_equal(multigoal.goal_counts(finals), [2, 0, 0, 1])


def test_episode_limit_marks_truncation_and_keeps_final_observation():
  env = envs.make("multigoal", episode_length=3)
  state = env.reset(jax.random.key(0))
  step = jax.jit(lambda s, a, k: step_and_reset(env, s, a, k))
  flags, next_obs = [], []
  for t in range(4):
    state, tr = step(state, jnp.array([1.0, 0.0]), jax.random.key(t))
    flags.append((float(tr.terminal), float(tr.truncated)))
    next_obs.append(np.asarray(tr.next_obs))
  assert flags == [(0, 0), (0, 0), (0, 1), (0, 0)]
  np.testing.assert_allclose(next_obs[2], [3.0, 0.0])  # the real final observation is kept
  np.testing.assert_allclose(next_obs[3], [1.0, 0.0])  # a fresh episode started from the origin


def test_unknown_environment_lists_accepted_names():
  with pytest.raises(ValueError, match="accepted: multigoal"):
    envs.make("cheetah")
