"""Brax tasks through `softq.envs.make`: every name resets and steps under jit on its default
backend, the other backends once each, actions in [-1, 1], truncation kept apart from
termination with the real final observation, and one-line errors for unknown names/backends."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from softq import envs
from softq.envs import physics
from softq.envs.wrappers import step_and_reset

CASES = [(name, None) for name in envs.BRAX_NAMES] + [
    ("inverted_pendulum", "positional"), ("inverted_pendulum", "mjx")]


# The wrapper's own checks (the real final observation kept, a reset with the new key) run on
# one cheap task; the others compile only what a training step does (reset, step and reset).
FULL_CHECK = ("inverted_pendulum", None)


@pytest.mark.slow
@pytest.mark.parametrize("name,backend", CASES)
def test_reset_and_step_under_jit(name, backend):
  env = envs.make(name, episode_length=1, backend=backend)
  action = jnp.ones(env.action_size)

  @jax.jit
  def one_step(key):
    k_reset, k_next = jax.random.split(key)
    state = env.reset(k_reset)
    next_state, transition = step_and_reset(env, state, action, k_next)
    if (name, backend) != FULL_CHECK:
      return state, next_state, transition
    return state, next_state, transition, env.step(state, action), env.reset(k_next)

  state, next_state, transition, *checks = one_step(jax.random.key(0))
  assert state.obs.shape == next_state.obs.shape == (env.observation_size,)
  assert np.all(np.isfinite(transition.next_obs)) and np.isfinite(float(transition.reward))
  # After one step of a 1-step limit: truncated unless the task itself terminated.
  assert float(transition.truncated) + float(transition.terminal) == 1.0
  assert int(next_state.info["steps"]) == 0
  if checks:
    stepped, fresh = checks
    np.testing.assert_array_equal(transition.next_obs, stepped.obs)  # the real final observation
    np.testing.assert_array_equal(next_state.obs, fresh.obs)  # a real reset with the new key
    assert not np.array_equal(fresh.obs, state.obs)


def test_actions_are_rescaled_to_the_actuator_range():
  env = physics.make_brax("humanoid", "spring")[0]  # actuators take [-0.4, 0.4]
  low, high = np.asarray(env._low), np.asarray(env._high)
  np.testing.assert_allclose(low, -0.4)
  np.testing.assert_allclose(high, 0.4)


@pytest.mark.parametrize("name,backend,accepted", [
    ("pong", None, "accepted: multigoal.*, ant, halfcheetah"),
    ("ant", "warp", "generalized, positional, spring, mjx"),
    ("swimmer", "spring", "accepted: generalized"),
    ("multigoal", "mjx", "accepted: jax"),
])
def test_unknown_name_or_backend_lists_the_accepted_ones(name, backend, accepted):
  with pytest.raises(ValueError, match=accepted):
    envs.make(name, backend=backend)
