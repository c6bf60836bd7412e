"""Environment wrappers shared by every environment: episode limits and reset-on-done stepping.

Time limits are marked as *truncation*, separately from termination, and the real final
observation is kept so that critics bootstrap through time limits (§2.2).
"""

import jax
import jax.numpy as jnp
from brax.envs.base import Env, State, Wrapper

from softq.types import Transition


class EpisodeLimit(Wrapper):
  """Ends episodes after `limit` steps: `info['truncation'] = 1` there (unless it terminated).

  `done` is 1 at a termination or a truncation; `info['steps']` counts steps in the episode.
  """

  def __init__(self, env: Env, limit: int):
    super().__init__(env)
    if limit < 1:
      raise ValueError(f"episode limit must be >= 1, got {limit}")
    self.limit = limit

  def reset(self, rng: jax.Array) -> State:
    state = self.env.reset(rng)
    info = dict(state.info, steps=jnp.zeros((), jnp.int32), truncation=jnp.zeros(()))
    return state.replace(info=info)

  def step(self, state: State, action: jax.Array) -> State:
    next_state = self.env.step(state, action)
    steps = state.info["steps"] + 1
    terminal = next_state.done
    truncation = ((steps >= self.limit) & (terminal == 0)).astype(terminal.dtype)
    info = dict(next_state.info, steps=steps, truncation=truncation)
    return next_state.replace(done=jnp.maximum(terminal, truncation), info=info)


def step_and_reset(env: Env, state: State, action: jax.Array, key: jax.Array):
  """Steps one (unbatched) environment and starts a fresh episode where it ended.

  The reset is a real `env.reset(key)` with a fresh key (not a cached first state); it is
  computed every step and selected where the episode ended, which costs one reset per step.

  Args:
    env: an `EpisodeLimit`-wrapped environment.
    state: its current state.
    action: `[d]`.
    key: PRNG key for the reset.
  Returns:
    `(next_state, transition)`: the state to continue from (reset where done) and the
    `softq.types.Transition` with the real next observation, `terminal` and `truncated` flags.
  """
  stepped = env.step(state, action)
  truncated = stepped.info["truncation"]
  transition = Transition(
      obs=state.obs, action=action, reward=stepped.reward, next_obs=stepped.obs,
      terminal=stepped.done * (1.0 - truncated), truncated=truncated)
  fresh = env.reset(key)
  done = stepped.done > 0
  next_state = jax.tree.map(lambda a, b: jnp.where(done, a, b), fresh, stepped)
  return next_state, transition
