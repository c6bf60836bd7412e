"""softq.evaluate.rollouts: returns, discounted returns, lengths and masking after the end."""

import jax
import jax.numpy as jnp
import numpy as np
from brax.envs.base import State

from softq import evaluate


class _Counter:
  """obs = t; reward of step t = t + 1; the episode ends after 3 steps."""

  def reset(self, key):
    del key
    zero = jnp.zeros(())
    return State(pipeline_state=None, obs=jnp.zeros(1), reward=zero, done=zero)

  def step(self, state, action):
    del action
    t = state.obs[0] + 1.0
    return state.replace(obs=jnp.full(1, t), reward=t, done=(t >= 3).astype(jnp.float32))


def test_rollouts_discount_and_mask():
  out = evaluate.rollouts(_Counter(), lambda obs, k: jnp.zeros(1), jax.random.key(0), 2, 5, 0.5)
  np.testing.assert_allclose(out["returns"], [6.0, 6.0])
  np.testing.assert_allclose(out["discounted_returns"], [1 + 0.5 * 2 + 0.25 * 3] * 2)
  np.testing.assert_array_equal(out["lengths"], [3, 3])
  np.testing.assert_allclose(out["paths"][0, :, 0], [0, 1, 2, 3, 3, 3])
