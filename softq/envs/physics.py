"""Brax locomotion and control tasks (generalized, positional, spring, MJX physics), actions in
[-1, 1].

Brax's own environment classes are used unchanged; `ActionRescale` maps the policy's
`[-1, 1]^d` onto each actuator's control range (humanoid: `[-0.4, 0.4]`, inverted pendulum:
`[-3, 3]`), so every environment of `softq.envs` takes actions in the same box.
"""

import types

import jax
import jax.numpy as jnp
from brax import envs as brax_envs
from brax import fluid
from brax.envs.base import Env, State, Wrapper

ALL_BACKENDS = ("generalized", "positional", "spring", "mjx")

# name -> (backends Brax supports for it, default backend, default episode length)
TASKS = {
    "ant": (ALL_BACKENDS, "spring", 1000),
    "halfcheetah": (ALL_BACKENDS, "spring", 1000),
    "hopper": (ALL_BACKENDS, "spring", 1000),
    "humanoid": (ALL_BACKENDS, "spring", 1000),
    "walker2d": (ALL_BACKENDS, "spring", 1000),
    "swimmer": (("generalized",), "generalized", 1000),
    "reacher": (ALL_BACKENDS, "spring", 1000),
    "inverted_pendulum": (ALL_BACKENDS, "spring", 1000),
}


class ActionRescale(Wrapper):
  """Maps actions `[d]` from `[-1, 1]` (clipped) onto the actuators' `[low, high]` ranges."""

  def __init__(self, env: Env):
    super().__init__(env)
    ranges = env.sys.actuator.ctrl_range
    self._low = jnp.asarray(ranges[:, 0], jnp.float32)
    self._high = jnp.asarray(ranges[:, 1], jnp.float32)

  def step(self, state: State, action: jax.Array) -> State:
    unit = (jnp.clip(action, -1.0, 1.0) + 1.0) / 2.0
    return self.env.step(state, self._low + unit * (self._high - self._low))


def _clip(x, min=None, max=None, *, a_min=None, a_max=None):  # noqa: A002 (jnp.clip's names)
  return jnp.clip(x, a_min if min is None else min, a_max if max is None else max)


# Brax 0.14.2's fluid model (swimmer) calls `jnp.clip(x, a_min=...)`, which jax 0.10 removed;
# its module gets a `jnp` whose `clip` still takes those names (no other change).
fluid.jp = types.SimpleNamespace(**{**vars(jnp), "clip": _clip})


def centre_of_mass(sys, pipeline_state) -> jax.Array:
  """Centre of mass `[3]` of a Brax system: link centres of mass weighted by link masses (as
  Brax's humanoid computes it; unscaled masses, so for the generalized and MJX backends). The
  quantity the rewards and metrics of §4.3–4.5 are written in."""
  inertia = sys.link.inertia
  link_com = pipeline_state.x.vmap().do(inertia.transform).pos  # [links, 3]
  return jnp.sum(inertia.mass[:, None] * link_com, axis=0) / jnp.sum(inertia.mass)


def make_brax(name: str, backend: str | None) -> tuple[Env, int]:
  """A Brax task with actions in `[-1, 1]^d` and its default episode length.

  Raises a `ValueError` listing the accepted backends when `backend` is not supported for
  `name` (swimmer only runs on `generalized` in Brax).
  """
  backends, default, horizon = TASKS[name]
  backend = backend or default
  if backend not in backends:
    raise ValueError(f"unknown backend {backend!r} for {name}; accepted: {', '.join(backends)}")
  return ActionRescale(brax_envs.get_environment(name, backend=backend)), horizon
