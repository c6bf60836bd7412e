"""Swimmer with a finish line (§4.3): Brax's three-link swimmer rewarded for the speed of its
centre of mass in any direction, with a bonus past `x = 1.5`.

The reward of a step is `||v_com|| - 0.5e-2 ||a||^2 + 1[com_x > 1.5]`, with `v_com` the centre of
mass's planar velocity over the step and `com_x` its position after it. Swimming backward earns
as much speed as swimming forward, so only an agent that explores both directions finds the
bonus. The observation is Brax's (joint angles and velocities) plus the centre of mass `(x, y)`,
which the bonus depends on. The centre of mass starts at the origin; the episode never
terminates (the time limit, 500 steps, is truncation). Physics: Brax `generalized` (the only
backend Brax runs the swimmer's fluid model on).
"""

import jax
import jax.numpy as jnp
from brax.envs.base import State
from brax.envs.swimmer import Swimmer

from softq.envs import physics  # also patches Brax's fluid model for this jax

HORIZON = 500
FINISH_X = 1.5
CTRL_COST = 0.5e-2
BONUS = 1.0
BACKENDS = ("generalized",)


class SwimmerFinish(Swimmer):
  """The §4.3 swimmer: speed in any direction, a bonus of 1 per step past the finish line."""

  def __init__(self, backend: str = "generalized"):
    super().__init__(ctrl_cost_weight=CTRL_COST, backend=backend)

  def centre_of_mass(self, pipeline_state) -> jax.Array:
    """The swimmer's centre of mass `[3]` (`physics.centre_of_mass`)."""
    return physics.centre_of_mass(self.sys, pipeline_state)

  def reward_terms(self, before, after, action: jax.Array) -> dict[str, jax.Array]:
    """The §4.3 reward of a step `before -> after` under `action` `[2]`, and its parts."""
    com0, com1 = self.centre_of_mass(before), self.centre_of_mass(after)
    speed = jnp.linalg.norm((com1[:2] - com0[:2]) / self.dt)
    ctrl = self._ctrl_cost_weight * jnp.sum(jnp.square(action))
    bonus = jnp.where(com1[0] > FINISH_X, BONUS, 0.0).astype(com1.dtype)
    return {"reward": speed - ctrl + bonus, "speed": speed, "reward_ctrl": -ctrl,
            "finish_bonus": bonus, "com_x": com1[0], "com_y": com1[1]}

  def reset(self, rng: jax.Array) -> State:
    state = super().reset(rng)
    com = self.centre_of_mass(state.pipeline_state)
    zero = jnp.zeros(())
    metrics = {"speed": zero, "reward_ctrl": zero, "finish_bonus": zero,
               "com_x": com[0], "com_y": com[1]}
    return state.replace(obs=self._observe(state.pipeline_state), metrics=metrics)

  def step(self, state: State, action: jax.Array) -> State:
    pipeline_state = self.pipeline_step(state.pipeline_state, action)
    terms = self.reward_terms(state.pipeline_state, pipeline_state, action)
    reward = terms.pop("reward")
    return state.replace(pipeline_state=pipeline_state, obs=self._observe(pipeline_state),
                         reward=reward, metrics=terms)

  def _observe(self, pipeline_state) -> jax.Array:
    com = self.centre_of_mass(pipeline_state)
    return jnp.concatenate([self._get_obs(pipeline_state), com[:2]])


def make(name: str, backend: str | None) -> tuple[physics.ActionRescale, int]:
  """The task (`name` is "swimmer_finish"; actions in `[-1, 1]^2`) and its horizon;
  `ValueError` listing `BACKENDS` for another backend."""
  backend = backend or BACKENDS[0]
  if backend not in BACKENDS:
    raise ValueError(f"unknown backend {backend!r} for {name}; accepted: {', '.join(BACKENDS)}")
  return physics.ActionRescale(SwimmerFinish(backend)), HORIZON
