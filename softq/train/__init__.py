"""Training: every seed and sweep member of an agent on an environment, in one compiled program.

`loop` is the compiled off-policy loop (`build`, `run`), `sweeps` the swept hyperparameters,
`devices` the sharding of the run axis; `train` puts them together. `onpolicy` is the discrete,
on-policy loop of §6.
"""

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp

from softq import replay
from softq.agents import base
from softq.train.devices import (check_memory, processes_used, put, replay_bytes,
                                 run_sharding, shard_count, to_host)
from softq.train.loop import (Carry, LoopConfig, Program, SeedCarry, build, nonfinite_runs,
                              run)
from softq.train.sweeps import runs as list_runs
from softq.train.sweeps import set_swept, sweep_values, sweepable

__all__ = ["Carry", "LoopConfig", "Program", "Result", "SeedCarry", "build", "check_memory",
           "list_runs", "nonfinite_runs", "processes_used", "put", "replay_bytes", "run",
           "run_sharding", "set_swept", "shard_count", "sweep_values", "sweepable", "to_host",
           "train"]


@dataclasses.dataclass(frozen=True)
class Result:
  """What `train` returns: the final carry (leaves `[R, ...]`), the last evaluation, one dict per
  run (`run`, `seed`, swept values; run order `r = sweep_index * S + seed`), and the runs that
  went non-finite and were frozen (`softq.train.loop.run`)."""

  carry: Carry
  evaluation: Any
  runs: list
  diverged: list


def train(agent, config, env, keys: jax.Array, loop: LoopConfig, *, sweep: dict | None = None,
          eval_key: jax.Array | None = None, on_chunk: Callable | None = None,
          checkpointer=None, restore: Callable | None = None, restore_capacity: int | None = None,
          initial_params=None, devices=None, program: Program | None = None) -> Result:
  """Trains every seed and sweep member of `agent` on `env` in one compiled program.

  Args:
    agent: a continuous `softq.agents` module; `config` its `Config`.
    env: an `EpisodeLimit`-wrapped environment (`softq.envs.make`).
    keys: `[S]` PRNG keys, one per seed.
    loop: budget and data collection.
    sweep: `{field: [V] values}` for fields in `agent.SWEEPABLE` (e.g. `alpha`); every field
      lists `V` values (zipped) and each is run with every seed: `R = V * S` runs. A swept value
      replaces the config's at initialisation.
    eval_key: key of the evaluation rollouts (default: derived from `keys[0]`).
    on_chunk: `on_chunk(steps_done, metrics, evaluation)`, numpy leaves `[R, ...]`.
    checkpointer: a `softq.checkpoint.Checkpointer` (or `None`).
    restore: `restore(like) -> Carry` continues a saved run instead of starting one, e.g.
      `functools.partial(checkpoint.restore, directory, step)`; `like` holds the carry's
      shapes, dtypes and shardings.
    restore_capacity: the replay capacity of the saved carry when it is smaller than this run's
      (a run resumed to a larger budget); its buffers are grown exactly (`replay.grow`).
    initial_params: saved `params` (leaves `[R, ...]`, e.g. `softq.policy.load_all(d).params`)
      whose networks every fresh run starts from, targets included (`agents.base.start_from`;
      fine-tuning, §4.5); ignored when restoring.
    devices: devices to shard the run axis over (default `jax.devices()`); the first `n` are
      used, `n` the largest count dividing `R`. Results equal the one-device run.
    program: a `build(agent, config, env, loop)` to reuse (skips recompiling).
  Returns:
    a `Result`.
  """
  values = sweep_values(agent, dict(sweep or {}))
  num_seeds = keys.shape[0]
  runs = list_runs(num_seeds, values)
  run_keys = jnp.tile(keys, len(runs) // num_seeds)
  program = program or build(agent, config, env, loop)
  sharding = run_sharding(len(runs), devices)
  abstract = jax.eval_shape(program.init, run_keys)
  if restore is not None:
    saved = abstract
    if restore_capacity is not None and restore_capacity != loop.buffer_capacity:
      buffer = abstract.seeds.buffer
      saved = _with_buffer(abstract, buffer.replace(data=jax.tree.map(
          lambda x: jax.ShapeDtypeStruct(x.shape[:1] + (restore_capacity,) + x.shape[2:],
                                         x.dtype), buffer.data)))
    like = jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
                        saved, sharding(saved))
    carry = restore(like)
    if saved is not abstract:
      grown = jax.vmap(lambda b: replay.grow(b, loop.buffer_capacity))(carry.seeds.buffer)
      carry = _with_buffer(carry, grown)
  else:
    carry = program.init(run_keys)
    if values:
      agent_state = set_swept(agent, carry.seeds.agent,
                              {f: jnp.repeat(jnp.asarray(v), num_seeds) for f, v in values.items()})
      carry = carry.replace(seeds=carry.seeds.replace(agent=agent_state))
    if initial_params is not None:
      agent_state = base.start_from(carry.seeds.agent, jax.tree.map(jnp.asarray, initial_params))
      carry = carry.replace(seeds=carry.seeds.replace(agent=agent_state))
  carry = put(carry, sharding(carry))  # restored keys come back unsharded
  if eval_key is None:
    eval_key = jax.random.fold_in(keys[0], 1)
  carry, evaluation, diverged = run(program, loop, run_keys, eval_key, on_chunk, carry,
                                    checkpointer)
  return Result(carry=carry, evaluation=evaluation, runs=runs, diverged=diverged)


def _with_buffer(carry: Carry, buffer) -> Carry:
  return carry.replace(seeds=carry.seeds.replace(buffer=buffer))
