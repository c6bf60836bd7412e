"""Where runs live: sharding the run axis over devices (and hosts), and the replay memory check.

Only this process's addressable devices are queried (`jax.local_devices`); in a multi-host job
the run axis is split over `jax.devices()` (every host's), which `jax.sharding` handles, and
`to_host` gathers a sharded array's runs from every process (a collective: every process calls
it, in the same order).
"""

import os
from typing import Callable

import jax
import numpy as np
from jax.experimental import multihost_utils

from softq import replay


def shard_count(num_runs: int, num_devices: int) -> int:
  """The largest device count `n <= num_devices` that divides `num_runs`."""
  return max(n for n in range(1, num_devices + 1) if num_runs % n == 0)


def run_sharding(num_runs: int, devices=None) -> Callable:
  """`sharding(tree)`: `NamedSharding`s that split a carry's leading run axis `[R]` over a
  one-axis device `Mesh` ("runs") and replicate its scalars (the shared step count)."""
  devices = list(devices or jax.devices())
  n = shard_count(num_runs, len(devices))
  mesh = jax.sharding.Mesh(np.array(devices[:n]), ("runs",))
  split = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("runs"))
  whole = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
  return lambda tree: jax.tree.map(lambda x: split if x.ndim else whole, tree)


def processes_used(num_runs: int, devices=None) -> int:
  """How many processes own a device of `run_sharding(num_runs, devices)`'s mesh."""
  devices = list(devices or jax.devices())
  return len({d.process_index for d in devices[:shard_count(num_runs, len(devices))]})


def to_host(tree):
  """Numpy copies of `tree`'s leaves, whole (every run `[R, ...]`) on every process.

  A leaf sharded over several processes' devices is gathered (`process_allgather`, so every
  process must call this); any other leaf is copied as `np.asarray` would.
  """
  def one(x):
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
      return multihost_utils.process_allgather(x, tiled=True)
    return np.asarray(x)
  return jax.tree.map(one, tree)


def put(tree, shardings):
  """`jax.device_put(tree, shardings)`, also for shardings over several processes' devices.

  In a multi-process job every process holds the same whole `tree` (leaves `[R, ...]`, e.g. from
  `init`); each keeps the shards its own devices own. Leaves already sharded over every process
  (a restored carry) are resharded as `device_put` does.
  """
  if jax.process_count() == 1:
    return jax.device_put(tree, shardings)

  def one(x, sharding):
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
      data = one(jax.random.key_data(x), sharding)
      return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
      return jax.device_put(x, sharding)
    whole = np.asarray(x)
    return jax.make_array_from_callback(whole.shape, sharding, lambda index: whole[index])
  return jax.tree.map(one, tree, shardings)


def replay_bytes(env, loop, num_runs: int) -> tuple[int, int]:
  """Replay memory `(per run, total)` in bytes for `num_runs` runs of `loop` on `env`."""
  per_run = replay.num_bytes(loop.buffer_capacity, env.observation_size, env.action_size)
  return per_run, per_run * num_runs


def check_memory(env, loop, num_runs: int) -> str:
  """A line with the replay memory per run and in total; raises `ValueError` when the buffers
  exceed the memory of the devices they are sharded over (host RAM on CPU)."""
  devices = jax.devices()
  local = jax.local_devices()[0]
  per_run, total = replay_bytes(env, loop, num_runs)
  n = shard_count(num_runs, len(devices))
  stats = local.memory_stats() or {}
  limit = stats.get("bytes_limit") or os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
  capacity = limit * (n if stats.get("bytes_limit") else 1)
  line = (f"replay buffers: {per_run / 2**20:.1f} MiB per run, {total / 2**20:.1f} MiB for "
          f"{num_runs} runs on {n} {local.platform} device(s) "
          f"({capacity / 2**20:.0f} MiB available)")
  if total > capacity:
    raise ValueError(f"{line}: does not fit; lower the replay capacity, seeds or sweep size")
  return line
