"""gymnax environments for §6 (discrete actions), stepped as a batch of `E` auto-resetting copies.

gymnax 1.0 API: `env.step(key, state, action, params)` returns
`(obs, state, reward, terminated, truncated, info)`; it auto-resets on `terminated | truncated`
and puts the true last observation in `info["final_observation"]` (needed to bootstrap through
time-limit truncations). Observations are flattened to `[E, D]` float32. gymnax is imported
on first `make`, so `softq.envs` loads without it.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp

ENV_NAMES = (
    "Breakout-MinAtar", "SpaceInvaders-MinAtar", "Asterix-MinAtar", "Freeway-MinAtar",
    "CartPole-v1", "Acrobot-v1",
)


@dataclasses.dataclass(frozen=True)
class BatchEnv:
  """A gymnax environment with its parameters, plus the flat observation size and action count."""
  env: object
  params: object
  obs_size: int
  num_actions: int


def check_env_name(name: str) -> None:
  """Raises ValueError naming the accepted environments if `name` is not one of them."""
  if name not in ENV_NAMES:
    raise ValueError(f"env {name!r} is not supported; accepted: {', '.join(ENV_NAMES)}")


def make(name: str) -> BatchEnv:
  """Builds one of `ENV_NAMES` (§6.5)."""
  check_env_name(name)
  import gymnax  # loads every gymnax task and its dependencies: import on use
  env, params = gymnax.make(name)
  obs_shape = env.observation_space(params).shape
  return BatchEnv(env, params, math.prod(obs_shape), env.num_actions)


def reset(benv: BatchEnv, key: jax.Array, num_envs: int):
  """Resets `num_envs` copies; returns `(obs [E, D], env_state)`."""
  obs, state = jax.vmap(benv.env.reset, in_axes=(0, None))(
      jax.random.split(key, num_envs), benv.params)
  return _flat(obs, num_envs), state


def step(benv: BatchEnv, key: jax.Array, state, actions: jax.Array):
  """Steps every copy with `actions [E]` (auto-reset).

  Returns:
    `(obs [E, D], state, reward [E], terminated [E] bool, done [E] bool, final_obs [E, D])`,
    where `obs` is the first observation of a new episode where `done`, and `final_obs` is the
    true successor of the transition.
  """
  num_envs = actions.shape[0]
  obs, state, reward, terminated, truncated, info = jax.vmap(
      benv.env.step, in_axes=(0, 0, 0, None))(
          jax.random.split(key, num_envs), state, actions, benv.params)
  done = jnp.logical_or(terminated, truncated)
  final_obs = _flat(info["final_observation"], num_envs)
  return _flat(obs, num_envs), state, reward.astype(jnp.float32), terminated, done, final_obs


def _flat(obs: jax.Array, num_envs: int) -> jax.Array:
  return obs.reshape(num_envs, -1).astype(jnp.float32)
