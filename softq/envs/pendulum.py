"""Gymnasium's `Pendulum-v1` swing-up as a pure-JAX Brax environment (the peer benchmarks' task).

Same dynamics, reward and start distribution as gymnasium 1.x and gymnax: `g = 10`, `m = l = 1`,
`dt = 0.05`, torque `2 a` for `a in [-1, 1]`, angular speed clipped to `[-8, 8]`,
`r = -(angle^2 + 0.1 speed^2 + 0.001 torque^2)` on the pre-step state, start angle uniform in
`[-pi, pi]` and speed in `[-1, 1]`, observation `[cos angle, sin angle, speed]`, never terminates
(the 200-step horizon comes from a wrapper). Actions are normalised to the box (DESIGN.md), so
an agent's action `a` is the gymnasium torque `2 a`.
"""

import jax
import jax.numpy as jnp
from brax.envs.base import Env, State

HORIZON = 200
MAX_SPEED = 8.0
MAX_TORQUE = 2.0
DT = 0.05
GRAVITY = 10.0


def _observation(angle_speed: jax.Array) -> jax.Array:
  angle, speed = angle_speed[0], angle_speed[1]
  return jnp.stack([jnp.cos(angle), jnp.sin(angle), speed])


class Pendulum(Env):
  """`pipeline_state` = `[angle, speed]`; observation `[3]`, action `[1]`."""

  def reset(self, rng: jax.Array) -> State:
    angle_speed = jax.random.uniform(rng, (2,), minval=jnp.array([-jnp.pi, -1.0]),
                                     maxval=jnp.array([jnp.pi, 1.0]))
    zero = jnp.zeros(())
    return State(pipeline_state=angle_speed, obs=_observation(angle_speed), reward=zero,
                 done=zero)

  def step(self, state: State, action: jax.Array) -> State:
    angle, speed = state.pipeline_state[0], state.pipeline_state[1]
    torque = MAX_TORQUE * jnp.clip(action[0], -1.0, 1.0)
    wrapped = (angle + jnp.pi) % (2 * jnp.pi) - jnp.pi
    cost = wrapped**2 + 0.1 * speed**2 + 0.001 * torque**2
    speed = jnp.clip(speed + (1.5 * GRAVITY * jnp.sin(angle) + 3.0 * torque) * DT,
                     -MAX_SPEED, MAX_SPEED)
    angle_speed = jnp.stack([angle + speed * DT, speed])
    return state.replace(pipeline_state=angle_speed, obs=_observation(angle_speed),
                         reward=-cost, done=jnp.zeros(()))

  @property
  def observation_size(self) -> int:
    return 3

  @property
  def action_size(self) -> int:
    return 1

  @property
  def backend(self) -> str:
    return "jax"
