"""Milliseconds per agent update at the seed papers' settings, compile time reported separately.

  python -m benchmarks.update_step --algo sql

Defaults are the SQL paper's (§2.8): batch 64, 32 kernel particles, 50 value particles, 2x200
nets, observation 17 / action 6 (HalfCheetah sizes). Prints one JSON object: the steady-state
median over `--repeats` timed blocks of `--updates` consecutive updates (run as one `lax.scan`,
as in training), the compile time, and the machine.
"""

import json
import os
import platform
import time

from absl import flags

from softq import cli

flags.DEFINE_string("algo", "sql", "Agent name (softq.agents.CONTINUOUS).")
flags.DEFINE_integer("obs_size", 17, "Observation size.")
flags.DEFINE_integer("action_size", 6, "Action size.")
flags.DEFINE_integer("updates", 50, "Updates per timed block (one compiled scan).")
flags.DEFINE_integer("repeats", 7, "Timed blocks; the median is reported.")
FLAGS = flags.FLAGS


def measure(algo: str, obs_size: int, action_size: int, updates: int, repeats: int) -> dict:
  """ms per update (median and best of `repeats` blocks of `updates` scanned updates) and the
  compile time, for `algo` at its default config on random minibatches of the given sizes."""
  import jax
  import jax.numpy as jnp
  import numpy as np

  from softq import agents
  from softq.replay import Transition

  agent = agents.AGENTS[algo]
  config = agent.Config()
  o, d, b = obs_size, action_size, config.batch_size
  keys = jax.random.split(jax.random.key(0), 4)
  batches = Transition(
      obs=jax.random.normal(keys[0], (updates, b, o)),
      action=jax.random.uniform(keys[1], (updates, b, d), minval=-1, maxval=1),
      reward=jax.random.normal(keys[2], (updates, b)),
      next_obs=jax.random.normal(keys[3], (updates, b, o)),
      terminal=jnp.zeros((updates, b)), truncated=jnp.zeros((updates, b)))
  state = agent.init(config, jax.random.key(1), o, d)

  @jax.jit
  def block(state, batches):
    return jax.lax.scan(lambda s, batch: agent.update(config, s, batch), state, batches)

  start = time.perf_counter()
  compiled = block.lower(state, batches).compile()
  compile_seconds = time.perf_counter() - start
  state, _ = compiled(state, batches)  # warm-up
  jax.block_until_ready(state)
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    state, metrics = compiled(state, batches)
    jax.block_until_ready((state, metrics))
    times.append((time.perf_counter() - start) / updates * 1e3)
  return {"algo": algo, "config": dict(vars(config)), "obs_size": o, "action_size": d,
          "ms_per_update_median": round(float(np.median(times)), 3),
          "ms_per_update_min": round(float(np.min(times)), 3),
          "compile_seconds": round(compile_seconds, 2)}


def main(argv):
  del argv
  import jax

  from softq import agents

  if FLAGS.algo not in agents.CONTINUOUS:
    cli.fail(f"unknown --algo {FLAGS.algo!r}; accepted: {', '.join(agents.CONTINUOUS)}")
  for name in ("obs_size", "action_size", "updates", "repeats"):
    if getattr(FLAGS, name) < 1:
      cli.fail(f"--{name} must be >= 1, got {getattr(FLAGS, name)}")
  result = measure(FLAGS.algo, FLAGS.obs_size, FLAGS.action_size, FLAGS.updates, FLAGS.repeats)
  print(json.dumps({
      "benchmark": "update_step", **result,
      "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                  "device": str(jax.devices()[0]), "jax": jax.__version__},
  }, default=str))


if __name__ == "__main__":
  cli.run(main)
