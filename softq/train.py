"""The compiled training loop: acting, environment steps, replay writes and updates in `lax.scan`.

One compiled `chunk` function advances every seed by `chunk_steps` environment steps; seeds are a
leading `vmap` axis of the carry, so N seeds run as one program. The host only sees chunk
boundaries: evaluation, progress, logs (`run`). Any agent module with the `softq.agents`
interface (`Config` with `batch_size`, `init`, `update`, `act`) plugs in.
"""

import dataclasses
import math
from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import numpy as np
from softq import evaluate, replay
from softq.envs.wrappers import step_and_reset


@dataclasses.dataclass(frozen=True)
class LoopConfig:
  """Budget and data-collection settings of a run (per seed).

  `total_steps` and `warmup_steps` count transitions (summed over the `num_envs` parallel
  environments); one loop iteration collects `update_every * num_envs` transitions, then takes
  `updates_per_round` gradient steps once `warmup_steps` transitions are stored.
  """

  total_steps: int
  chunk_steps: int = 1000
  warmup_steps: int = 10_000
  warmup_actions: str = "policy"
  num_envs: int = 1
  update_every: int = 1
  updates_per_round: int = 1
  replay_capacity: int = 1_000_000
  exploration: str = "ou"
  ou_theta: float = 0.15
  ou_sigma: float = 0.3
  eval_episodes: int = 20

  def __post_init__(self):
    for name in ("total_steps", "chunk_steps", "num_envs", "update_every", "updates_per_round",
                 "replay_capacity", "eval_episodes"):
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
    if self.warmup_steps < 0:
      raise ValueError(f"warmup_steps must be >= 0, got {self.warmup_steps}")
    if self.warmup_steps >= self.total_steps:
      raise ValueError(f"total_steps ({self.total_steps}) must exceed warmup_steps "
                       f"({self.warmup_steps}), or no update ever runs")
    per_iteration = self.num_envs * self.update_every
    if self.chunk_steps % per_iteration or self.total_steps % self.chunk_steps:
      raise ValueError(f"chunk_steps ({self.chunk_steps}) must be a multiple of num_envs * "
                       f"update_every ({per_iteration}) and divide total_steps "
                       f"({self.total_steps})")
    if self.warmup_actions not in ("policy", "uniform"):
      raise ValueError(f"warmup_actions must be one of policy, uniform, got {self.warmup_actions!r}")
    if self.exploration not in ("ou", "none"):
      raise ValueError(f"exploration must be one of ou, none, got {self.exploration!r}")


@flax.struct.dataclass
class SeedCarry:
  """One seed's share of the carry (leaves get a leading seed axis `[S]` in `Carry`).

  `noise` is the Ornstein–Uhlenbeck state `[N, d]`, `episode_return` the running return `[N]`.
  """

  agent: Any
  env_state: Any
  buffer: replay.ReplayBuffer
  noise: jax.Array
  episode_return: jax.Array
  key: jax.Array


@flax.struct.dataclass
class Carry:
  """Everything a run carries between chunks: per-seed state and the shared iteration count."""

  seeds: SeedCarry
  step: jax.Array


@dataclasses.dataclass(frozen=True)
class Program:
  """Compiled functions of one run: `init(keys)`, `chunk(carry)`, `evaluate(params, key)`."""

  init: Callable
  chunk: Callable
  evaluate: Callable


def build(agent, config, env, loop: LoopConfig) -> Program:
  """Builds the jitted `init`, `chunk` and `evaluate` functions for `agent` on `env`.

  `env` is an `EpisodeLimit`-wrapped environment with Brax's `Env` interface.

  `init(keys [S]) -> Carry`; `chunk(carry) -> (carry, metrics)` where `metrics` holds per-seed
  means over the chunk's updates (`[S]` each; NaN if the chunk had none) and `train_return`
  (mean return of episodes finished in the chunk, `[S]`, NaN if none);
  `evaluate(params, key) -> rollouts` with leaves `[S, E, ...]` (see `evaluate.rollouts`).
  """
  obs_size, action_size = env.observation_size, env.action_size
  iterations = loop.chunk_steps // (loop.num_envs * loop.update_every)
  warmup_iterations = math.ceil(loop.warmup_steps / (loop.num_envs * loop.update_every))

  def init_one(key):
    k_agent, k_env, key = jax.random.split(key, 3)
    agent_state = agent.init(config, k_agent, obs_size, action_size)
    env_state = jax.vmap(env.reset)(jax.random.split(k_env, loop.num_envs))
    example = replay.Transition(
        obs=jnp.zeros(obs_size), action=jnp.zeros(action_size), reward=jnp.zeros(()),
        next_obs=jnp.zeros(obs_size), terminal=jnp.zeros(()), truncated=jnp.zeros(()))
    return SeedCarry(agent=agent_state, env_state=env_state,
                     buffer=replay.init(min(loop.replay_capacity, loop.total_steps), example),
                     noise=jnp.zeros((loop.num_envs, action_size)),
                     episode_return=jnp.zeros(loop.num_envs), key=key)

  def init(keys):
    return Carry(seeds=jax.vmap(init_one)(keys), step=jnp.zeros((), jnp.int32))

  def collect_one(c: SeedCarry, warm: jax.Array):
    key, k_act, k_noise, k_uniform, k_reset = jax.random.split(c.key, 5)
    obs = c.env_state.obs
    action = agent.act(config, c.agent.params, obs, k_act, "explore")
    noise = c.noise
    if loop.exploration == "ou":
      noise = (noise - loop.ou_theta * noise
               + loop.ou_sigma * jax.random.normal(k_noise, noise.shape))
      action = jnp.clip(action + noise, -1.0, 1.0)
    if loop.warmup_actions == "uniform":
      uniform = jax.random.uniform(k_uniform, action.shape, minval=-1.0, maxval=1.0)
      action = jnp.where(warm, uniform, action)
    env_state, transition = jax.vmap(step_and_reset, in_axes=(None, 0, 0, 0))(
        env, c.env_state, action, jax.random.split(k_reset, loop.num_envs))
    done = (transition.terminal + transition.truncated) > 0
    episode_return = c.episode_return + transition.reward
    finished = (jnp.sum(jnp.where(done, episode_return, 0.0)), jnp.sum(done))
    c = c.replace(env_state=env_state, buffer=replay.add(c.buffer, transition),
                  noise=jnp.where(done[:, None], 0.0, noise),
                  episode_return=jnp.where(done, 0.0, episode_return), key=key)
    return c, finished

  def train_one(agent_state, key, buffer):
    def one_update(agent_state, k):
      return agent.update(config, agent_state, replay.sample(buffer, k, config.batch_size))

    key, k_batches = jax.random.split(key)
    agent_state, metrics = jax.lax.scan(
        one_update, agent_state, jax.random.split(k_batches, loop.updates_per_round))
    return agent_state, key, jax.tree.map(jnp.mean, metrics)

  def skip_one(agent_state, key, buffer):
    del buffer
    zeros = jax.tree.map(lambda m: jnp.zeros(m.shape, m.dtype), metric_shapes)
    return agent_state, key, zeros

  example_seed = jax.eval_shape(init_one, jax.random.key(0))
  metric_shapes = jax.eval_shape(train_one, example_seed.agent, example_seed.key,
                                 example_seed.buffer)[2]

  def iteration(c: Carry, _):
    step, seeds = c.step, c.seeds
    finished_sum = finished_count = 0.0
    for _ in range(loop.update_every):
      seeds, (total, count) = jax.vmap(collect_one, in_axes=(0, None))(
          seeds, step < warmup_iterations)
      finished_sum, finished_count = finished_sum + total, finished_count + count
    step = step + 1
    trained = step > warmup_iterations
    # The buffer is an operand only: returning it from the cond would copy it every iteration.
    agent_state, key, metrics = jax.lax.cond(
        trained, jax.vmap(train_one), jax.vmap(skip_one), seeds.agent, seeds.key, seeds.buffer)
    seeds = seeds.replace(agent=agent_state, key=key)
    return Carry(seeds=seeds, step=step), (metrics, trained, finished_sum, finished_count)

  def chunk(c: Carry):
    c, (metrics, trained, finished_sum, finished_count) = jax.lax.scan(
        iteration, c, None, length=iterations)
    weights = trained.astype(jnp.float32)[:, None]
    count = jnp.sum(weights)
    means = jax.tree.map(
        lambda m: jnp.where(count > 0, jnp.sum(m * weights, 0) / jnp.maximum(count, 1), jnp.nan),
        metrics)
    n_done = jnp.sum(finished_count, 0)
    means["train_return"] = jnp.where(n_done > 0, jnp.sum(finished_sum, 0) / n_done, jnp.nan)
    return c, means

  def evaluate_all(params, key):
    def one(p, k):
      policy = lambda obs, kk: agent.act(config, p, obs, kk, "eval")
      return evaluate.rollouts(env, policy, k, loop.eval_episodes, env.limit)
    num_seeds = jax.tree.leaves(params)[0].shape[0]
    return jax.vmap(one)(params, jax.random.split(key, num_seeds))

  return Program(init=jax.jit(init), chunk=jax.jit(chunk),
                 evaluate=jax.jit(evaluate_all))


def params_sha256(params) -> list[str]:
  """SHA-256 of each seed's parameters (leaves `[S, ...]`, in tree order) as hex strings."""
  import hashlib
  leaves = [np.asarray(x) for x in jax.tree.leaves(params)]
  out = []
  for s in range(leaves[0].shape[0]):
    h = hashlib.sha256()
    for leaf in leaves:
      h.update(np.ascontiguousarray(leaf[s]).tobytes())
    out.append(h.hexdigest())
  return out


def run(program: Program, loop: LoopConfig, keys: jax.Array, eval_key: jax.Array,
        on_chunk: Callable | None = None):
  """Runs `loop.total_steps` per seed in chunks; returns `(carry, last_evaluation)`.

  After each chunk the host evaluates the policy and calls
  `on_chunk(steps_done, metrics, evaluation)` with numpy arrays (per seed). A non-finite loss
  stops the run with a `FloatingPointError` naming the step, the metric and the seed.
  """
  carry = program.init(keys)
  evaluation = None
  for index in range(loop.total_steps // loop.chunk_steps):
    carry, metrics = program.chunk(carry)
    evaluation = program.evaluate(carry.seeds.agent.params, jax.random.fold_in(eval_key, index))
    metrics = {k: np.asarray(v) for k, v in metrics.items()}
    steps_done = (index + 1) * loop.chunk_steps
    if steps_done > loop.warmup_steps:  # every chunk from here on has updates
      for name, values in metrics.items():
        bad = np.flatnonzero(~np.isfinite(values))
        if name != "train_return" and bad.size:
          raise FloatingPointError(
              f"non-finite {name} = {values[bad[0]]} at step {steps_done} in seed {bad[0]}")
    if on_chunk is not None:
      on_chunk(steps_done, metrics, jax.tree.map(np.asarray, evaluation))
  return carry, evaluation
