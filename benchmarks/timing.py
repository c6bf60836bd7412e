"""Pieces shared by the benchmarks: a median timing, XLA's FLOP count of a program, an updates-only
program."""

import statistics
import time
from unittest import mock

import jax
import jax.numpy as jnp

from softq import replay


def median_seconds(fn, arg, repeats: int, chain: bool = False):
  """Median wall seconds of `fn(arg)` over `repeats` calls after one untimed call (each waited
  for with `block_until_ready`), and the last result. With `chain`, each call's result is the
  next call's argument (`arg = fn(arg)`: a training state carried from chunk to chunk)."""
  out = jax.block_until_ready(fn(arg))
  times = []
  for _ in range(repeats):
    arg = out if chain else arg
    start = time.perf_counter()
    out = jax.block_until_ready(fn(arg))
    times.append(time.perf_counter() - start)
  return statistics.median(times), out


def flops(fn, *args) -> float:
  """Floating-point operations XLA counts in `fn(*args)` compiled (`fn` a plain function).

  XLA's cost analysis counts a loop body once, whatever its trip count, so the program is
  lowered for counting (only) with every `lax.scan` unrolled: S2AC's `L` SVGD steps count `L`
  times. Timed programs keep their scans.
  """
  scan = jax.lax.scan
  unrolled = lambda f, init, xs=None, length=None, **kw: scan(
      f, init, xs, length=length, **{**kw, "unroll": True})
  with mock.patch.object(jax.lax, "scan", unrolled):
    lowered = jax.jit(lambda *a: fn(*a)).lower(*args)  # a fresh function: no cached trace
  cost = lowered.compile().cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return float(cost.get("flops", float("nan")))


def update_flops(agent, config, obs_size: int, action_size: int) -> float:
  """`flops` of one `agent.update` at `config` on a `[config.batch_size, ...]` minibatch for
  observations `[obs_size]` and actions `[action_size]`."""
  b = config.batch_size
  batch = replay.Transition(obs=jnp.zeros((b, obs_size)), action=jnp.zeros((b, action_size)),
                            reward=jnp.zeros(b), next_obs=jnp.zeros((b, obs_size)),
                            terminal=jnp.zeros(b), truncated=jnp.zeros(b))
  state = agent.init(config, jax.random.key(0), obs_size, action_size)
  return flops(lambda s, x: agent.update(config, s, x), state, batch)


def update_scan(agent, config, num_updates: int):
  """`run(agent_states, buffers, key) -> agent_states`: `num_updates` updates per seed, each on a
  fresh minibatch of `config.batch_size` from that seed's own buffer, seeds vmapped (leaves
  `[S, ...]`) — a training chunk's updates without acting or environment steps."""
  def one_seed(state, buffer, key):
    def body(s, k):
      return agent.update(config, s, replay.sample(buffer, k, config.batch_size))[0], None
    return jax.lax.scan(body, state, jax.random.split(key, num_updates))[0]

  def run(agent_states, buffers, key):
    num_seeds = jax.tree.leaves(agent_states)[0].shape[0]
    return jax.vmap(one_seed)(agent_states, buffers, jax.random.split(key, num_seeds))
  return run
