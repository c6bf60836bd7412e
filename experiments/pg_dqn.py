"""E2 (§6.2, §6.5, Schulman et al. 2017 Sec. 6.2): DQN vs soft DQN (KL penalty, entropy bonus), 1-
and 5-step.

All six variants share the network, ε schedule and target-network period; only the backup
(Eq. 81–83) and the horizon differ.
python -m experiments.pg_dqn --env Breakout-MinAtar --seeds 5 --out runs/pg_dqn/breakout
"""

from absl import flags

from experiments import pg_common
from softq import cli, launch
from softq.agents import soft_dqn
from softq.train import onpolicy

flags.DEFINE_float("tau", 0.1, "temperature τ > 0 of the soft backups")
flags.DEFINE_integer("target_update_period", 50,
                     "updates between target-network copies, > 0")
launch.define_output("runs/pg_dqn")
FLAGS = flags.FLAGS
flags.adopt_module_key_flags(pg_common)


def main(argv):
  del argv
  if FLAGS.tau <= 0 or FLAGS.target_update_period <= 0:
    cli.fail(f"--tau and --target_update_period must be > 0, got {FLAGS.tau} and "
             f"{FLAGS.target_update_period}")
  env, hidden, lr, updates, rollout, chunk = pg_common.settings()
  rollout = max(rollout, 5)
  loop = onpolicy.LoopConfig(env, FLAGS.num_envs, rollout, updates, chunk)
  results = {}
  for n_steps in (1, 5):
    for backup in soft_dqn.BACKUPS:
      config = soft_dqn.Config(
          tau=FLAGS.tau, learning_rate=lr, hidden=hidden, backup=backup, n_steps=n_steps,
          target_update_period=FLAGS.target_update_period,
          epsilon_updates=max(1, int(0.4 * updates)))
      metrics, timing, params = onpolicy.run("soft_dqn", config, loop, FLAGS.seeds,
                                             FLAGS.seed, FLAGS.progress)
      label = f"{backup} {n_steps}-step"
      results[label] = pg_common.summarise(metrics, timing, loop.steps_per_update)
      pg_common.save_policy(label, "soft_dqn", config, params, env)
  pg_common.write("pg_dqn", "E2 DQN vs soft DQN", {
      "env": env, "seeds": FLAGS.seeds, "updates": updates, "num_envs": FLAGS.num_envs,
      "rollout": rollout, "lr": lr, "hidden": hidden, "tau": FLAGS.tau,
      "target_update_period": FLAGS.target_update_period,
      "epsilon": "1.0 -> 0.05 over 40% of updates"},
      results)


if __name__ == "__main__":
  cli.run(main)
