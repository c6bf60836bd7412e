"""The compiled off-policy loop: acting, environment steps, replay writes, updates in `lax.scan`.

One compiled `chunk` function advances every run by `chunk_steps` environment steps; runs are a
leading `vmap` axis of the carry, so N runs are one program. The host only sees chunk
boundaries (`run`): evaluation, progress, logs, checkpoints, and the non-finite check that
freezes a diverged run while the others go on. Any continuous agent of `softq.agents` (the
protocol of `softq.agents.base`) plugs in; its `Config` owns batch size and exploration.
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
from softq.train.devices import to_host


EVAL_KEYS = ("per_chunk", "fixed")


@dataclasses.dataclass(frozen=True)
class LoopConfig:
  """Budget and data-collection settings of a run (per seed).

  `total_steps` and `warmup_steps` count transitions (summed over the `num_envs` parallel
  environments); one loop iteration collects `update_every * num_envs` transitions, then takes
  `updates_per_round` gradient steps once `warmup_steps` transitions are stored. During warm-up
  the actions are uniform on the box (`warmup_actions="uniform"`) or the agent's own
  (`"policy"`). The replay buffer holds `buffer_capacity = min(replay_capacity, total_steps)`
  transitions; a resume to a larger budget grows it exactly (`replay.grow`).

  Evaluation after every chunk runs `eval_episodes` episodes per run with the agent's `"eval"`
  actions (its deterministic choice where it has one) and, with `eval_stochastic`, the same
  episodes (same initial states) again with its `"explore"` actions, the training-time policy
  without the loop's exploration noise. `eval_keys="per_chunk"` draws new evaluation keys at
  every chunk; `"fixed"` reuses one set at every evaluation (common random numbers: every
  evaluation of a run starts from the same states), in both cases independent of training.
  """

  total_steps: int = 10_000
  chunk_steps: int = 1000
  warmup_steps: int = 1000
  warmup_actions: str = "uniform"
  num_envs: int = 1
  update_every: int = 1
  updates_per_round: int = 1
  replay_capacity: int = 1_000_000
  eval_episodes: int = 5
  eval_keys: str = "per_chunk"
  eval_stochastic: bool = False

  # Command-line names of the fields (`softq.launch`); the others keep their own names.
  FLAG_NAMES = {"total_steps": "steps", "chunk_steps": "chunk", "warmup_steps": "warmup",
                "replay_capacity": "replay"}

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
    if self.eval_keys not in EVAL_KEYS:
      raise ValueError(
          f"eval_keys must be one of {', '.join(EVAL_KEYS)}, got {self.eval_keys!r}")
    if not isinstance(self.eval_stochastic, bool):
      raise ValueError(f"eval_stochastic must be True or False, got {self.eval_stochastic!r}")

  @property
  def buffer_capacity(self) -> int:
    """Transitions the replay buffer of one run holds."""
    return min(self.replay_capacity, self.total_steps)


@flax.struct.dataclass
class SeedCarry:
  """One seed's share of the carry (leaves get a leading seed axis `[S]` in `Carry`).

  `noise` is the Ornstein–Uhlenbeck state `[N, d]` (§2.7), `episode_return` the running return
  `[N]`.
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


def build(agent, config, env, loop: LoopConfig, track: tuple = ()) -> Program:
  """Builds the jitted `init`, `chunk` and `evaluate` functions for `agent` on `env`.

  `env` is an `EpisodeLimit`-wrapped environment with Brax's `Env` interface. Exploration noise
  is the agent's (`config.exploration`, §2.7).

  `init(keys [S]) -> Carry`; `chunk(carry) -> (carry, metrics)` where `metrics` holds per-seed
  means over the chunk's updates (`[S]` each; NaN if the chunk had none) and `train_return`
  (mean return of episodes finished in the chunk, `[S]`, NaN if none), plus `<name>_max` and
  `<name>_min` for every environment metric `name` in `track` (`state.metrics[name]`, a scalar
  per environment): its extremes over the states the agent acted in during the chunk, in every
  parallel environment, warm-up included (e.g. the swimmer's furthest position, §4.3);
  `evaluate(params, key) -> rollouts` with leaves `[S, E, ...]` (see `evaluate.rollouts`;
  discounted with the agent's `discount`), plus `stochastic_returns` and
  `stochastic_discounted_returns` `[S, E]` with `loop.eval_stochastic`.
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
                     buffer=replay.init(loop.buffer_capacity, example),
                     noise=jnp.zeros((loop.num_envs, action_size)),
                     episode_return=jnp.zeros(loop.num_envs), key=key)

  def init(keys):
    return Carry(seeds=jax.vmap(init_one)(keys), step=jnp.zeros((), jnp.int32))

  def collect_one(c: SeedCarry, warm: jax.Array):
    key, k_act, k_noise, k_uniform, k_reset = jax.random.split(c.key, 5)
    obs = c.env_state.obs
    action = agent.act(config, c.agent.params, obs, k_act, "explore")
    noise = c.noise
    if config.exploration == "ou":
      noise = (noise - config.ou_theta * noise
               + config.ou_sigma * jax.random.normal(k_noise, noise.shape))
      action = jnp.clip(action + noise, -1.0, 1.0)
    if loop.warmup_actions == "uniform":
      uniform = jax.random.uniform(k_uniform, action.shape, minval=-1.0, maxval=1.0)
      action = jnp.where(warm, uniform, action)
    env_state, transition = jax.vmap(step_and_reset, in_axes=(None, 0, 0, 0))(
        env, c.env_state, action, jax.random.split(k_reset, loop.num_envs))
    done = (transition.terminal + transition.truncated) > 0
    episode_return = c.episode_return + transition.reward
    finished = (jnp.sum(jnp.where(done, episode_return, 0.0)), jnp.sum(done))
    tracked = {name: (jnp.max(c.env_state.metrics[name]), jnp.min(c.env_state.metrics[name]))
               for name in track}
    c = c.replace(env_state=env_state, buffer=replay.add(c.buffer, transition),
                  noise=jnp.where(done[:, None], 0.0, noise),
                  episode_return=jnp.where(done, 0.0, episode_return), key=key)
    return c, (finished, tracked)

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
    seeds, ((totals, counts), tracked) = jax.lax.scan(
        lambda s, _: jax.vmap(collect_one, in_axes=(0, None))(s, step < warmup_iterations),
        seeds, None, length=loop.update_every)
    finished_sum, finished_count = jnp.sum(totals, 0), jnp.sum(counts, 0)
    extremes = {name: (jnp.max(high, 0), jnp.min(low, 0)) for name, (high, low) in tracked.items()}
    step = step + 1
    trained = step > warmup_iterations
    # The buffer is an operand only: returning it from the cond would copy it every iteration.
    agent_state, key, metrics = jax.lax.cond(
        trained, jax.vmap(train_one), jax.vmap(skip_one), seeds.agent, seeds.key, seeds.buffer)
    seeds = seeds.replace(agent=agent_state, key=key)
    return Carry(seeds=seeds, step=step), (metrics, trained, finished_sum, finished_count,
                                            extremes)

  def chunk(c: Carry):
    c, (metrics, trained, finished_sum, finished_count, extremes) = jax.lax.scan(
        iteration, c, None, length=iterations)
    weights = trained.astype(jnp.float32)[:, None]
    count = jnp.sum(weights)
    means = jax.tree.map(
        lambda m: jnp.where(count > 0, jnp.sum(m * weights, 0) / jnp.maximum(count, 1), jnp.nan),
        metrics)
    n_done = jnp.sum(finished_count, 0)
    means["train_return"] = jnp.where(n_done > 0, jnp.sum(finished_sum, 0) / n_done, jnp.nan)
    for name, (high, low) in extremes.items():
      means[f"{name}_max"], means[f"{name}_min"] = jnp.max(high, 0), jnp.min(low, 0)
    return c, means

  def evaluate_all(params, key):
    def one(p, k):
      def episodes(mode):  # the same key: the same initial states in both modes
        policy = lambda obs, kk: agent.act(config, p, obs, kk, mode)
        return evaluate.rollouts(env, policy, k, loop.eval_episodes, env.limit, config.discount)
      out = episodes("eval")
      if loop.eval_stochastic:
        stochastic = episodes("explore")
        out.update({f"stochastic_{name}": stochastic[name]
                    for name in ("returns", "discounted_returns")})
      return out
    num_seeds = jax.tree.leaves(params)[0].shape[0]
    return jax.vmap(one)(params, jax.random.split(key, num_seeds))

  return Program(init=jax.jit(init), chunk=jax.jit(chunk),
                 evaluate=jax.jit(evaluate_all))


def run(program: Program, loop: LoopConfig, keys: jax.Array, eval_key: jax.Array,
        on_chunk: Callable | None = None, carry: Carry | None = None,
        checkpointer=None) -> tuple[Carry, Any, list]:
  """Runs up to `loop.total_steps` per run in chunks; returns `(carry, evaluation, diverged)`.

  `carry` (e.g. restored from a checkpoint) continues from its `step`; otherwise the runs start
  from `program.init(keys)`. A carry already at `total_steps` is only evaluated (with the last
  chunk's key, so the evaluation equals the one the finished run made). After each chunk the
  host checks every run for a non-finite loss or parameter, evaluates the policies (keys from
  `eval_key` as `loop.eval_keys` says), calls `on_chunk(steps_done, metrics, evaluation)` with
  numpy arrays (per run, gathered from every process of a multi-process job) and, when given,
  `checkpointer.save(steps_done, carry, final)` (see `softq.checkpoint.Checkpointer`).

  A run that goes non-finite is frozen at its last finite state (the carry before that chunk)
  while the others go on (the loop ends early when every run is frozen); its metrics read NaN
  from then on. `diverged` lists one
  `{"run", "step", "metric", "value"}` per frozen run, in the order they diverged.
  """
  if carry is None:
    carry = program.init(keys)
  per_iteration = loop.num_envs * loop.update_every
  first = int(carry.step) * per_iteration // loop.chunk_steps
  evaluation, diverged = None, []
  num_chunks = loop.total_steps // loop.chunk_steps
  frozen = np.zeros(keys.shape[0], bool)
  for index in range(first, num_chunks):
    new, metrics = program.chunk(carry)
    metrics = to_host(metrics)  # gathered from every process in a multi-process job
    steps_done = (index + 1) * loop.chunk_steps
    # Every chunk after warm-up has updates, so its losses must be finite.
    checked = {k: v for k, v in metrics.items() if k != "train_return"}
    for r, (name, value) in nonfinite_runs(checked if steps_done > loop.warmup_steps else {},
                                           new.seeds.agent.params).items():
      if not frozen[r]:
        frozen[r] = True
        diverged.append({"run": r, "step": steps_done, "metric": name, "value": value})
    if frozen.any():
      new = new.replace(seeds=_select(frozen, carry.seeds, new.seeds))
      metrics = {k: np.where(frozen, np.nan, v) for k, v in metrics.items()}
    carry = new
    evaluation = program.evaluate(carry.seeds.agent.params, _eval_key(loop, eval_key, index))
    if on_chunk is not None:
      on_chunk(steps_done, metrics, to_host(evaluation))
    if checkpointer is not None:
      checkpointer.save(steps_done, carry, final=index == num_chunks - 1)
    if frozen.all():  # nothing left to train
      break
  if evaluation is None:  # restored at the end: the last chunk's evaluation, again
    evaluation = program.evaluate(carry.seeds.agent.params,
                                  _eval_key(loop, eval_key, num_chunks - 1))
  return carry, evaluation, diverged


def _eval_key(loop: LoopConfig, eval_key: jax.Array, index: int) -> jax.Array:
  """The key of the evaluation after chunk `index`."""
  return eval_key if loop.eval_keys == "fixed" else jax.random.fold_in(eval_key, index)


def nonfinite_runs(metrics: dict, params) -> dict:
  """`{run: (name, value)}` for each run with a non-finite metric or parameter (the first found).

  `metrics` values are `[R]`; `params` leaves are `[R, ...]` (sharded over processes: every
  process calls this). Parameters are named by their path.
  """
  found = {}
  for name, values in metrics.items():
    for r in np.flatnonzero(~np.isfinite(values)):
      found.setdefault(int(r), (name, float(values[r])))
  finite = jax.tree.map(lambda x: to_host(jnp.all(jnp.isfinite(x.reshape(x.shape[0], -1)), 1)),
                        params)
  for path, ok in jax.tree_util.tree_leaves_with_path(finite):
    for r in np.flatnonzero(~ok):
      found.setdefault(int(r), (f"parameter {jax.tree_util.keystr(path)}", float("nan")))
  return found


def _select(mask: np.ndarray, old, new):
  """`old` where `mask [R]` is set, `new` elsewhere, for every leaf `[R, ...]`."""
  def pick(o, n):
    return jnp.where(jnp.asarray(mask).reshape((-1,) + (1,) * (n.ndim - 1)), o, n)
  return jax.tree.map(pick, old, new)
