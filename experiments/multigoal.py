"""Figure 1 of Haarnoja et al. 2017: SQL vs DDPG on the multi-goal task (§4.1, §2.8).

  python -m experiments.multigoal --algo sql --seeds 4 --out runs/multigoal/sql

Writes DIR/figure1.png (the first 50 evaluation paths on the reward contours; Q over the action
box at three states with 100 sampled actions), DIR/results.json (per seed: how many of the
--eval_paths evaluation paths end within distance 1 of each goal, final evaluation return,
SHA-256 of the final parameters), DIR/metrics.csv, DIR/tensorboard/ and DIR/learning_curve.png.
Defaults are the paper's settings, except DDPG's --preactivation_penalty (see its help).
--checkpoint_every N saves the whole run to DIR/checkpoints/ (orbax); --resume DIR continues it.
"""

import dataclasses
import functools
import json
import os
import sys
import time

from absl import flags

from experiments import cli

ALGOS = ("sql", "ddpg")
flags.DEFINE_enum("algo", "sql", ALGOS, "Algorithm.")
flags.DEFINE_integer("seeds", 4, "Independent runs, vmapped in one program.")
flags.DEFINE_string("out", None, "Output directory.")
flags.DEFINE_integer("steps", 100_000, "Environment steps per seed (paper: 100 epochs x 1000).")
flags.DEFINE_integer("warmup", 10_000, "Transitions collected before the first update.")
flags.DEFINE_integer("chunk", 1000, "Steps per epoch (evaluation, logging).")
flags.DEFINE_float("alpha", 10.0, "SQL temperature (paper: 10 on this task).")
flags.DEFINE_integer("particles", 100, "SQL kernel particles per state (paper: 100).")
flags.DEFINE_integer("value_particles", 50, "SQL proposal samples for the soft value (K_V).")
flags.DEFINE_integer("batch", 64, "Minibatch size.")
flags.DEFINE_float("discount", 0.99, "Discount factor.")
flags.DEFINE_integer("target_update_period", 1000, "Steps between target updates.")
flags.DEFINE_float("tau", 1.0, "DDPG target update weight: 1 = hard copies (the paper's); with "
                   "--target_update_period 1 a small tau is Polyak averaging (§2.9). SQL: 1 only "
                   "(§2.2).")
flags.DEFINE_float("preactivation_penalty", 1e-3, "DDPG: weight of ||pre-tanh action||^2 in the "
                   "actor loss (not in the paper, whose setting is 0; without it the actor "
                   "saturates its tanh and overshoots its goal in 2 of 4 seeds, BUILD_NOTES).")
flags.DEFINE_integer("hidden", 100, "Width of the two hidden layers (paper: 100 on this task).")
flags.DEFINE_integer("eval_paths", 500, "Evaluation paths per seed, counted in results.json "
                     "(the figure draws the first 50).")
flags.DEFINE_integer("seed", 0, "Base PRNG seed.")
flags.DEFINE_integer("checkpoint_every", 0, "Save a checkpoint every N steps (0: never).")
flags.DEFINE_string("resume", None, "Continue the run saved in this output directory.")
flags.mark_flag_as_required("out")
FLAGS = flags.FLAGS

Q_STATES = ((-2.5, 0.0), (0.0, 0.0), (2.5, 2.5))
FIGURE_PATHS = 50


def main(argv):
  del argv
  from softq import agents, train  # noqa: F401  (imported after flag checks: heavy)
  for name in ("seeds", "steps", "chunk", "batch", "hidden", "eval_paths", "particles",
               "value_particles"):
    if getattr(FLAGS, name) < 1:
      cli.fail(f"--{name} must be >= 1, got {getattr(FLAGS, name)}")
  if FLAGS.algo == "sql" and FLAGS.tau != 1.0:
    cli.fail(f"--tau applies to ddpg only (SQL's targets are hard copies, §2.2), got {FLAGS.tau}")
  if FLAGS.algo == "sql" and FLAGS["preactivation_penalty"].present:
    cli.fail("--preactivation_penalty applies to ddpg only")
  agent = agents.AGENTS[FLAGS.algo]
  hidden = (FLAGS.hidden, FLAGS.hidden)
  if FLAGS.algo == "sql":
    config = cli.config_or_fail(
        agent.Config, alpha=FLAGS.alpha, hidden_sizes=hidden, batch_size=FLAGS.batch,
        kernel_particles=FLAGS.particles, value_particles=FLAGS.value_particles,
        discount=FLAGS.discount, target_update_period=FLAGS.target_update_period)
  else:
    config = cli.config_or_fail(agent.Config, hidden_sizes=hidden, batch_size=FLAGS.batch,
                                discount=FLAGS.discount, tau=FLAGS.tau,
                                target_update_period=FLAGS.target_update_period,
                                preactivation_penalty=FLAGS.preactivation_penalty)
  loop = cli.config_or_fail(train.LoopConfig, total_steps=FLAGS.steps, chunk_steps=FLAGS.chunk,
                            warmup_steps=FLAGS.warmup, eval_episodes=FLAGS.eval_paths)
  if FLAGS.checkpoint_every < 0 or FLAGS.checkpoint_every % FLAGS.chunk:
    cli.fail(f"--checkpoint_every must be a non-negative multiple of --chunk ({FLAGS.chunk}), "
             f"got {FLAGS.checkpoint_every}")
  from softq import checkpoint
  description = json.loads(json.dumps({
      "algo": FLAGS.algo, "seeds": FLAGS.seeds, "seed": FLAGS.seed,
      "config": dataclasses.asdict(config),
      "loop": {k: v for k, v in dataclasses.asdict(loop).items() if k != "total_steps"},
      # The buffer holds min(capacity, steps) transitions, so --steps beyond that cannot resume.
      "replay_size": min(loop.replay_capacity, loop.total_steps)}))
  restore, step = None, 0
  if FLAGS.resume:
    directory = os.path.join(FLAGS.resume, "checkpoints")
    try:
      step = checkpoint.latest(directory, description)
    except checkpoint.CheckpointError as e:
      cli.fail(str(e))
    if step >= FLAGS.steps:
      cli.fail(f"the checkpoint in {FLAGS.resume!r} is at step {step}; --steps must exceed it")
    restore = functools.partial(checkpoint.restore, directory, step)
  out = cli.writable_dir(FLAGS.out)
  checkpointer = None
  if FLAGS.checkpoint_every:
    checkpointer = checkpoint.Checkpointer(os.path.join(out, "checkpoints"),
                                           FLAGS.checkpoint_every, description)
  try:
    results = run_experiment(agent, config, loop, out, checkpointer, restore, step)
  except (checkpoint.CheckpointError, FloatingPointError) as e:
    cli.fail(str(e))
  finally:
    if checkpointer is not None:
      checkpointer.close()
  print(json.dumps({"goal_counts": [s["goal_counts"] for s in results["seeds"]],
                    "final_eval_return": [s["final_eval_return"] for s in results["seeds"]]}))


def run_experiment(agent, config, loop, out: str, checkpointer=None, restore=None,
                   start_step: int = 0) -> dict:
  """Trains `FLAGS.seeds` seeds, writes the figure, curves and results; returns the results.

  `checkpointer` and `restore` are passed to `softq.train.train` (checkpoints, resume); a run
  resumed from the checkpoint at `start_step` continues DIR/metrics.csv from that step.
  """
  import jax
  import jax.numpy as jnp
  import numpy as np

  from softq import envs, plotting, train
  from softq.envs import multigoal
  from softq.logging import RunLogger

  env = envs.make("multigoal")
  program = train.build(agent, config, env, loop)
  keys = jax.random.split(jax.random.key(FLAGS.seed), FLAGS.seeds)
  logger = RunLogger(out, loop.total_steps, FLAGS.seeds, start_step)

  start = time.time()
  try:
    result = train.train(agent, config, env, keys, loop, eval_key=jax.random.key(FLAGS.seed + 1),
                         on_chunk=logger.on_chunk, checkpointer=checkpointer, restore=restore,
                         program=program)
  finally:
    logger.close()
  carry, evaluation = result.carry, result.evaluation
  seconds = time.time() - start
  params = carry.seeds.agent.params
  paths = np.asarray(evaluation["paths"])
  counts = np.asarray(multigoal.goal_counts(jnp.asarray(paths[:, :, -1])))

  grid = np.linspace(-multigoal.BOUND, multigoal.BOUND, 141)
  xx, yy = np.meshgrid(grid, grid)
  reward = np.asarray(multigoal.reward(jnp.stack([xx, yy], -1)))
  action_grid = np.linspace(-1.0, 1.0, 61)
  ax, ay = np.meshgrid(action_grid, action_grid)
  grid_actions = jnp.stack([ax, ay], -1)  # [A, A, 2]
  states = jnp.asarray(Q_STATES)

  def q_and_samples(p, k):
    obs_grid = jnp.broadcast_to(states[:, None, None, :], (len(Q_STATES),) + ax.shape + (2,))
    q = agent.q_values(config, p, obs_grid, jnp.broadcast_to(grid_actions, obs_grid.shape))
    obs_samples = jnp.broadcast_to(states[:, None, :], (len(Q_STATES), 100, 2))
    return q, agent.act(config, p, obs_samples, k, "eval")

  q_grids, sampled = jax.jit(jax.vmap(q_and_samples))(
      params, jax.random.split(jax.random.key(FLAGS.seed + 2), FLAGS.seeds))
  plotting.multigoal_figure(
      os.path.join(out, "figure1.png"), grid, reward, multigoal.GOALS, paths[:, :FIGURE_PATHS],
      action_grid, np.asarray(q_grids), Q_STATES, np.asarray(sampled),
      f"{FLAGS.algo.upper()} on the multi-goal task, {loop.total_steps} steps")
  plotting.learning_curves(
      os.path.join(out, "learning_curve.png"), np.asarray(logger.steps),
      {FLAGS.algo: np.stack(logger.eval_returns)}, "evaluation return",
      f"{FLAGS.algo.upper()} multi-goal")

  hashes = train.params_sha256(params)
  results = {
      "command": " ".join(["python -m experiments.multigoal"] + sys.argv[1:]),
      "algo": FLAGS.algo,
      "config": dataclasses.asdict(config),
      "loop": dataclasses.asdict(loop),
      "goals": [list(g) for g in multigoal.GOALS],
      "eval_paths": int(paths.shape[1]),
      "wall_seconds": round(seconds, 1),
      "seeds": [{
          "seed": s,
          "goal_counts": counts[s].tolist(),
          "goals_reached": int(np.sum(counts[s] > 0)),
          "final_eval_return": float(evaluation["returns"][s].mean()),
          "params_sha256": hashes[s],
      } for s in range(FLAGS.seeds)],
  }
  with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f, indent=2)
  return results


if __name__ == "__main__":
  cli.run(main)
