"""The compiled on-policy loop of the discrete §6 agents: parallel-env rollouts + one update, as
one `lax.scan`.

The agents are `softq.agents.DISCRETE` (`a2c`, `soft_dqn`, `matched`), on the gymnax tasks of
`softq.envs.DISCRETE_NAMES`; each update consumes one `discrete_common.Rollout` `[T, E]` of
the agent's own "explore" actions. Seeds are a leading `vmap` axis. The host sees only chunk
boundaries (progress bar); each chunk of `chunk_updates` updates is one jitted, vmapped
`lax.scan`. The learning curve is the mean over environments of each environment's last
completed (undiscounted) episode return.
"""

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from softq import agents
from softq.agents import common
from softq.agents import discrete_common
from softq.envs import discrete as envs


@dataclasses.dataclass(frozen=True)
class LoopConfig:
  """Loop settings.

  Attributes:
    env_name: one of `softq.envs.DISCRETE_NAMES`.
    num_envs: parallel environments per seed, >= 1.
    rollout_length: steps per environment between updates (`T`, the n of n-step A2C), >= 1.
    num_updates: total updates, a multiple of `chunk_updates`.
    chunk_updates: updates per compiled chunk (one progress-bar tick), >= 1.
  """
  env_name: str = "CartPole-v1"
  num_envs: int = 16
  rollout_length: int = 5
  num_updates: int = 1000
  chunk_updates: int = 100

  def __post_init__(self):
    envs.check_env_name(self.env_name)
    common.check_positive(self, "num_envs", "rollout_length", "num_updates", "chunk_updates")
    common.check(self.num_updates % self.chunk_updates == 0, "num_updates",
                 f"a multiple of chunk_updates ({self.chunk_updates})", self.num_updates)

  @property
  def steps_per_update(self) -> int:
    """Environment steps per seed per update, `E * T`."""
    return self.num_envs * self.rollout_length


def make_train(agent_name: str, agent_config, loop: LoopConfig):
  """Builds `(init, chunk)`: `init(keys [S]) -> carry`, `chunk(carry) -> (carry, metrics)` (§6).

  `agent_name` is one of `softq.agents.DISCRETE` and `agent_config` its `Config`. Both functions
  are jitted and vmapped over the seed axis `S`; `metrics` leaves are `[S, chunk_updates]`.
  """
  common.check(agent_name in agents.DISCRETE, "agent_name",
               f"one of {', '.join(agents.DISCRETE)}", agent_name)
  agent = agents.AGENTS[agent_name]
  benv = envs.make(loop.env_name)

  def init_one(key):
    key, key_agent, key_env = jax.random.split(key, 3)
    agent_state = agent.init(agent_config, key_agent, benv.obs_size, benv.num_actions)
    obs, env_state = envs.reset(benv, key_env, loop.num_envs)
    zeros = jnp.zeros((loop.num_envs,), jnp.float32)
    return agent_state, env_state, obs, key, zeros, zeros

  def env_step(carry, _):
    agent_state, env_state, obs, key, episode_return, last_return = carry
    key, key_act, key_env = jax.random.split(key, 3)
    actions = agent.act(agent_config, agent_state.params, obs, key_act, "explore")
    next_obs, env_state, reward, terminal, done, final_obs = envs.step(
        benv, key_env, env_state, actions)
    episode_return = episode_return + reward
    last_return = jnp.where(done, episode_return, last_return)
    episode_return = jnp.where(done, 0.0, episode_return)
    transition = discrete_common.Rollout(obs, actions, reward, terminal.astype(jnp.float32),
                                         done.astype(jnp.float32), final_obs)
    return (agent_state, env_state, next_obs, key, episode_return, last_return), transition

  def update_step(carry, _):
    carry, rollout = jax.lax.scan(env_step, carry, None, loop.rollout_length)
    agent_state, *rest = carry
    agent_state, metrics = agent.update(agent_config, agent_state, rollout)
    metrics = dict(metrics, episode_return=jnp.mean(rest[-1]))
    return (agent_state, *rest), metrics

  def chunk_one(carry):
    return jax.lax.scan(update_step, carry, None, loop.chunk_updates)

  return jax.jit(jax.vmap(init_one)), jax.jit(jax.vmap(chunk_one))


def run(agent_name: str, agent_config, loop: LoopConfig, num_seeds: int, seed: int = 0,
        progress: bool = True):
  """Trains `num_seeds` seeds of `agent_name` (`softq.agents.DISCRETE`) in one program (§6).

  Returns:
    `(metrics, timing, params)`: metrics maps names to numpy `[S, num_updates]`; timing has
    `compile_s` (first chunk, including compilation) and `steady_s` (the remaining chunks);
    `params` are the final policy parameters, leaves `[S, ...]` (`softq.policy.save`).
  """
  init, chunk = make_train(agent_name, agent_config, loop)
  carry = init(jax.random.split(jax.random.key(seed), num_seeds))
  pieces = []
  num_chunks = loop.num_updates // loop.chunk_updates
  start = time.perf_counter()
  first_s = 0.0
  for index in tqdm.trange(num_chunks, disable=not progress, desc=f"{agent_name} {loop.env_name}"):
    carry, metrics = chunk(carry)
    pieces.append(jax.device_get(metrics))
    if index == 0:
      first_s = time.perf_counter() - start
  total_s = time.perf_counter() - start
  merged = {k: np.concatenate([p[k] for p in pieces], axis=1) for k in pieces[0]}
  return merged, {"compile_s": first_s, "steady_s": total_s - first_s}, carry[0].params
