"""Environment steps per second of the §6 discrete learners on MinAtar Breakout, seeds vmapped.

python -m benchmarks.discrete_throughput [--agents a2c,soft_dqn,matched] [--seeds 1,8,32]
Prints one JSON object: per agent and seed count, the compile time (AOT `lower().compile()`)
and the steady-state env-steps/s (median of `--repeats` timed chunks, `block_until_ready`).
"""

import json
import statistics
import sys
import time

from absl import flags
import jax

from softq import cli
from softq import envs
from softq.agents import a2c
from softq.agents import matched
from softq.agents import soft_dqn
from softq.train import onpolicy

flags.DEFINE_string("agents", "a2c,soft_dqn,matched", "comma-separated learners")
flags.DEFINE_string("seeds", "1,8,32", "comma-separated seed counts")
flags.DEFINE_string("env", "Breakout-MinAtar", "environment")
flags.DEFINE_integer("num_envs", 16, "environments per seed")
flags.DEFINE_integer("rollout", 5, "steps per environment per update")
flags.DEFINE_integer("chunk", 20, "updates per timed chunk")
flags.DEFINE_integer("repeats", 3, "timed chunks (median reported)")
FLAGS = flags.FLAGS

CONFIGS = {"a2c": a2c.Config(), "soft_dqn": soft_dqn.Config(n_steps=5), "matched": matched.Config()}


def _parse():
  try:
    agents = FLAGS.agents.split(",")
    seeds = [int(s) for s in FLAGS.seeds.split(",")]
  except ValueError:
    seeds = [0]
  bad = [a for a in agents if a not in CONFIGS]
  if bad or min(seeds) <= 0 or FLAGS.env not in envs.DISCRETE_NAMES or min(
      FLAGS.num_envs, FLAGS.rollout, FLAGS.chunk, FLAGS.repeats) <= 0:
    print(f"bad flags: --agents from {sorted(CONFIGS)}, --seeds positive integers, --env from "
          f"{', '.join(envs.DISCRETE_NAMES)}, sizes > 0", file=sys.stderr)
    sys.exit(2)
  return agents, seeds


def main(argv):
  del argv
  agents, seed_counts = _parse()
  loop = onpolicy.LoopConfig(FLAGS.env, FLAGS.num_envs, FLAGS.rollout, FLAGS.chunk, FLAGS.chunk)
  results = []
  for agent in agents:
    init, chunk = onpolicy.make_train(agent, CONFIGS[agent], loop)
    for num_seeds in seed_counts:
      carry = init(jax.random.split(jax.random.key(0), num_seeds))
      start = time.perf_counter()
      compiled = chunk.lower(carry).compile()
      compile_s = time.perf_counter() - start
      times = []
      for _ in range(FLAGS.repeats):
        start = time.perf_counter()
        carry, metrics = compiled(carry)
        jax.block_until_ready((carry, metrics))
        times.append(time.perf_counter() - start)
      steps = FLAGS.chunk * loop.steps_per_update * num_seeds
      results.append({"agent": agent, "seeds": num_seeds, "compile_s": round(compile_s, 2),
                      "chunk_s_median": round(statistics.median(times), 4),
                      "env_steps_per_s": round(steps / statistics.median(times))})
  print(json.dumps({"env": FLAGS.env, "num_envs_per_seed": FLAGS.num_envs,
                    "rollout": FLAGS.rollout, "updates_per_chunk": FLAGS.chunk,
                    "backend": jax.default_backend(), "results": results}, indent=1))


if __name__ == "__main__":
  cli.run(main)
