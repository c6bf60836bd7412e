"""E3 (§6.5, Schulman et al. 2017 Sec. 6.3): soft Q-learning with `Q = V + τ log π` vs
entropy-regularised
A2C (proper, c = 0.5), with the cosine similarity of their updates along training, and the
unscaled soft-Q variant (effective value weight 1/τ) that the paper reports as unstable.

python -m experiments.pg_matched --env Breakout-MinAtar --seeds 5 --out runs/pg_matched/breakout
"""

from absl import flags

from experiments import pg_common
from softq import cli, launch
from softq.agents import a2c
from softq.agents import matched
from softq.train import onpolicy

flags.DEFINE_float("tau", 0.01, "temperature τ > 0")
launch.define_output("runs/pg_matched")
FLAGS = flags.FLAGS
flags.adopt_module_key_flags(pg_common)


def main(argv):
  del argv
  if FLAGS.tau <= 0:
    cli.fail(f"--tau must be > 0, got {FLAGS.tau}")
  env, hidden, lr, updates, rollout, chunk = pg_common.settings()
  loop = onpolicy.LoopConfig(env, FLAGS.num_envs, rollout, updates, chunk)
  common = dict(tau=FLAGS.tau, learning_rate=lr, hidden=hidden)
  variants = [
      ("A2C (proper, c=0.5)", "a2c", a2c.Config(**common), ()),
      ("soft Q, scaled (1/τ, 0.5)", "matched", matched.Config(**common), ("cosine",)),
      ("soft Q, unscaled (c=1/τ)", "matched", matched.Config(scaled=False, **common),
       ("cosine",)),
  ]
  results = {}
  for label, agent, config, extra in variants:
    metrics, timing, params = onpolicy.run(agent, config, loop, FLAGS.seeds, FLAGS.seed,
                                           FLAGS.progress)
    results[label] = pg_common.summarise(metrics, timing, loop.steps_per_update, extra)
    pg_common.save_policy(label, agent, config, params, env)
  pg_common.write("pg_matched", "E3 matched dynamics", {
      "env": env, "seeds": FLAGS.seeds, "updates": updates, "num_envs": FLAGS.num_envs,
      "rollout": rollout, "lr": lr, "hidden": hidden, "tau": FLAGS.tau}, results)


if __name__ == "__main__":
  cli.run(main)
