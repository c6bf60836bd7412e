"""The compiled training loop: acting, environment steps, replay writes and updates in `lax.scan`.

One compiled `chunk` function advances every seed by `chunk_steps` environment steps; seeds are a
leading `vmap` axis of the carry, so N seeds run as one program. The host only sees chunk
boundaries: evaluation, progress, logs (`run`). Any agent module with the `softq.agents`
interface (`Config` with `batch_size`, `init`, `update`, `act`) plugs in.
"""

import dataclasses
import hashlib
import math
import os
from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import numpy as np
from softq import evaluate, replay
from softq.agents import common
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
      raise ValueError(
          f"warmup_actions must be one of policy, uniform, got {self.warmup_actions!r}")
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
    # A scan, not a Python loop: unrolling `update_every = 50` env steps (S2AC/SAC, §3.9)
    # multiplied the compile time by 50.
    seeds, (totals, counts) = jax.lax.scan(
        lambda s, _: jax.vmap(collect_one, in_axes=(0, None))(s, step < warmup_iterations),
        seeds, None, length=loop.update_every)
    finished_sum, finished_count = jnp.sum(totals, 0), jnp.sum(counts, 0)
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
  leaves = [np.asarray(x) for x in jax.tree.leaves(params)]
  out = []
  for s in range(leaves[0].shape[0]):
    h = hashlib.sha256()
    for leaf in leaves:
      h.update(np.ascontiguousarray(leaf[s]).tobytes())
    out.append(h.hexdigest())
  return out


def run(program: Program, loop: LoopConfig, keys: jax.Array, eval_key: jax.Array,
        on_chunk: Callable | None = None, carry: Carry | None = None,
        checkpointer=None):
  """Runs up to `loop.total_steps` per seed in chunks; returns `(carry, last_evaluation)`.

  `carry` (e.g. restored from a checkpoint) continues a run from its `step`; otherwise the run
  starts from `program.init(keys)`. After each chunk the host evaluates the policy, calls
  `on_chunk(steps_done, metrics, evaluation)` with numpy arrays (per seed) and, when given,
  `checkpointer.save(steps_done, carry, final)` (see `softq.checkpoint.Checkpointer`).
  A non-finite loss or parameter stops the run with a `FloatingPointError` naming the step, the
  metric and the seed before anything of that chunk is saved, so the last checkpoint is good.
  """
  if carry is None:
    carry = program.init(keys)
  per_iteration = loop.num_envs * loop.update_every
  first = int(carry.step) * per_iteration // loop.chunk_steps
  evaluation = None
  num_chunks = loop.total_steps // loop.chunk_steps
  for index in range(first, num_chunks):
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
    check_finite_params(carry.seeds.agent.params, steps_done)
    if on_chunk is not None:
      on_chunk(steps_done, metrics, jax.tree.map(np.asarray, evaluation))
    if checkpointer is not None:
      checkpointer.save(steps_done, carry, final=index == num_chunks - 1)
  return carry, evaluation


def check_finite_params(params, steps_done: int) -> None:
  """Raises `FloatingPointError` naming the step, the parameter and the seed of a NaN/inf.

  `params` leaves are `[S, ...]`.
  """
  finite = jax.tree.map(lambda x: np.asarray(jnp.all(jnp.isfinite(x.reshape(x.shape[0], -1)), 1)),
                        params)
  for path, ok in jax.tree_util.tree_leaves_with_path(finite):
    bad = np.flatnonzero(~ok)
    if bad.size:
      raise FloatingPointError(f"non-finite parameter {jax.tree_util.keystr(path)} at step "
                               f"{steps_done} in seed {bad[0]}")


@dataclasses.dataclass(frozen=True)
class Result:
  """What `train` returns: the final carry (leaves `[R, ...]`), the last evaluation, and one
  dict per run (`seed` index and swept values), in run order `r = sweep_index * S + seed`."""

  carry: Carry
  evaluation: Any
  runs: list


def sweepable(agent, config, obs_size: int, action_size: int) -> tuple[str, ...]:
  """Fields a sweep can set: scalar float fields of the agent's `TrainState` (e.g. `alpha`) and
  the Config's learning rates (`agent.LEARNING_RATES`, held in the optimizer states)."""
  state = jax.eval_shape(lambda k: agent.init(config, k, obs_size, action_size),
                         jax.random.key(0))
  fields = tuple(f.name for f in dataclasses.fields(state) if f.name != "step"
                 and isinstance(getattr(state, f.name), jax.ShapeDtypeStruct)
                 and getattr(state, f.name).shape == ()
                 and jnp.issubdtype(getattr(state, f.name).dtype, jnp.floating))
  return fields + tuple(getattr(agent, "LEARNING_RATES", {}))


def set_swept(agent, state, values: dict):
  """`state` (leaves `[R, ...]`) with each swept field set to its `[R]` values: `TrainState`
  fields directly, learning rates in every optimizer state `agent.LEARNING_RATES` names."""
  rates = getattr(agent, "LEARNING_RATES", {})
  for field, value in values.items():
    if field in rates:
      state = state.replace(**{name: common.with_learning_rate(getattr(state, name), value)
                               for name in rates[field]})
    else:
      state = state.replace(**{field: jnp.asarray(value, getattr(state, field).dtype)})
  return state


def replay_bytes(env, loop: LoopConfig, num_runs: int) -> tuple[int, int]:
  """Replay memory `(per run, total)` in bytes for `num_runs` runs of `loop` on `env`."""
  per_run = replay.num_bytes(min(loop.replay_capacity, loop.total_steps), env.observation_size,
                             env.action_size)
  return per_run, per_run * num_runs


def check_memory(env, loop: LoopConfig, num_runs: int, devices=None) -> str:
  """Returns a line with the replay memory per run and in total; raises `ValueError` when the
  buffers alone exceed the memory of the devices they are sharded over (host RAM on CPU)."""
  devices = devices or jax.devices()
  per_run, total = replay_bytes(env, loop, num_runs)
  n = _shard_count(num_runs, len(devices))
  stats = devices[0].memory_stats() or {}
  limit = stats.get("bytes_limit") or os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
  capacity = limit * (n if stats.get("bytes_limit") else 1)
  line = (f"replay buffers: {per_run / 2**20:.1f} MiB per run, {total / 2**20:.1f} MiB for "
          f"{num_runs} runs on {n} {devices[0].platform} device(s) "
          f"({capacity / 2**20:.0f} MiB available)")
  if total > capacity:
    raise ValueError(f"{line}: does not fit; lower the replay capacity, seeds or sweep size")
  return line


def train(agent, config, env, keys: jax.Array, loop: LoopConfig, *, sweep: dict | None = None,
          eval_key: jax.Array | None = None, on_chunk: Callable | None = None,
          checkpointer=None, restore: Callable | None = None, devices=None,
          program: Program | None = None) -> Result:
  """Trains every seed and sweep member of `agent` on `env` in one compiled program.

  Args:
    agent: a `softq.agents` module; `config` its `Config`.
    env: an `EpisodeLimit`-wrapped environment (`softq.envs.make`).
    keys: `[S]` PRNG keys, one per seed.
    loop: budget and data collection.
    sweep: `{field: [V] values}` for fields in `sweepable(...)` (e.g. `alpha`,
      `q_learning_rate`); every field lists `V` values (zipped) and each is run with every seed:
      `R = V * S` runs. A swept value replaces the config's at initialisation.
    eval_key: key of the evaluation rollouts (default: derived from `keys[0]`).
    on_chunk: `on_chunk(steps_done, metrics, evaluation)`, numpy leaves `[R, ...]`.
    checkpointer: a `softq.checkpoint.Checkpointer` (or `None`).
    restore: `restore(like) -> Carry` continues a saved run instead of starting one, e.g.
      `functools.partial(checkpoint.restore, directory, step)`; `like` holds the carry's
      shapes, dtypes and shardings.
    devices: devices to shard the run axis over (default `jax.devices()`); the first `n` are
      used, `n` the largest count dividing `R`. Results equal the one-device run.
    program: a `build(agent, config, env, loop)` to reuse (skips recompiling).
  Returns:
    a `Result`.
  """
  sweep = dict(sweep or {})
  values = sweep_values(agent, config, env, sweep)
  num_seeds = keys.shape[0]
  runs = [{"seed": s, **{f: float(v[i]) for f, v in values.items()}}
          for i in range(max((len(v) for v in values.values()), default=1))
          for s in range(num_seeds)]
  run_keys = jnp.tile(keys, len(runs) // num_seeds)
  program = program or build(agent, config, env, loop)
  sharding = run_sharding(len(runs), devices)
  abstract = jax.eval_shape(program.init, run_keys)
  like = jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
                      abstract, sharding(abstract))
  if restore is not None:
    carry = restore(like)
  else:
    carry = program.init(run_keys)
    if values:
      agent_state = set_swept(agent, carry.seeds.agent,
                              {f: jnp.repeat(jnp.asarray(v), num_seeds) for f, v in values.items()})
      carry = carry.replace(seeds=carry.seeds.replace(agent=agent_state))
  carry = jax.device_put(carry, sharding(carry))  # restored keys come back unsharded
  if eval_key is None:
    eval_key = jax.random.fold_in(keys[0], 1)
  carry, evaluation = run(program, loop, run_keys, eval_key, on_chunk, carry, checkpointer)
  return Result(carry=carry, evaluation=evaluation, runs=runs)


def run_sharding(num_runs: int, devices=None) -> Callable:
  """`sharding(tree)`: `NamedSharding`s that split a carry's leading run axis `[R]` over a
  one-axis device `Mesh` ("runs") and replicate its scalars (the shared step count)."""
  devices = list(devices or jax.devices())
  n = _shard_count(num_runs, len(devices))
  mesh = jax.sharding.Mesh(np.array(devices[:n]), ("runs",))
  split = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("runs"))
  whole = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
  return lambda tree: jax.tree.map(lambda x: split if x.ndim else whole, tree)


def _shard_count(num_runs: int, num_devices: int) -> int:
  return max(n for n in range(1, num_devices + 1) if num_runs % n == 0)


def sweep_values(agent, config, env, sweep: dict) -> dict:
  """Validates a sweep: known fields, equal non-zero lengths; returns `{field: tuple}`."""
  if not sweep:
    return {}
  allowed = sweepable(agent, config, env.observation_size, env.action_size)
  for field, vals in sweep.items():
    if field not in allowed:
      raise ValueError(f"cannot sweep {field!r} for this agent; sweepable: "
                       f"{', '.join(allowed) or 'none'}")
    if not len(vals):
      raise ValueError(f"sweep {field} needs at least one value")
    if not all(math.isfinite(v) and v > 0 for v in vals):
      raise ValueError(f"sweep {field} values must be finite and > 0, got {list(vals)}")
  lengths = {len(v) for v in sweep.values()}
  if len(lengths) > 1:
    raise ValueError(f"swept fields need the same number of values, got {sorted(lengths)}")
  return {f: tuple(float(x) for x in v) for f, v in sweep.items()}
