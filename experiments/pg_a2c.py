"""E1 (§6.3, Schulman et al. 2017 Sec. 6.1): naive vs proper entropy-regularised A2C, τ = 0.01.

python -m experiments.pg_a2c --env Breakout-MinAtar --seeds 5 --out runs/pg_a2c/breakout
"""

from absl import flags

from experiments import pg_common
from softq import cli, launch
from softq.agents import a2c
from softq.train import onpolicy

flags.DEFINE_float("tau", 0.01, "temperature τ > 0")
launch.define_output("runs/pg_a2c")
FLAGS = flags.FLAGS
flags.adopt_module_key_flags(pg_common)


def main(argv):
  del argv
  if FLAGS.tau <= 0:
    cli.fail(f"--tau must be > 0, got {FLAGS.tau}")
  env, hidden, lr, updates, rollout, chunk = pg_common.settings()
  loop = onpolicy.LoopConfig(env, FLAGS.num_envs, rollout, updates, chunk)
  results = {}
  for estimator in a2c.ESTIMATORS:
    config = a2c.Config(tau=FLAGS.tau, learning_rate=lr, hidden=hidden, estimator=estimator)
    metrics, timing, params = onpolicy.run("a2c", config, loop, FLAGS.seeds, FLAGS.seed,
                                           FLAGS.progress)
    results[estimator] = pg_common.summarise(metrics, timing, loop.steps_per_update)
    pg_common.save_policy(estimator, "a2c", config, params, env)
  pg_common.write("pg_a2c", "E1 naive vs proper A2C", {
      "env": env, "seeds": FLAGS.seeds, "updates": updates, "num_envs": FLAGS.num_envs,
      "rollout": rollout, "lr": lr, "hidden": hidden, "tau": FLAGS.tau}, results)


if __name__ == "__main__":
  cli.run(main)
