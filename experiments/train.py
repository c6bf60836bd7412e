"""General launcher: any agent on any environment, seeds and a hyperparameter sweep in one program.

  python -m experiments.train --algo sql --env halfcheetah --backend spring --seeds 4 \
      --sweep alpha=0.1,0.2,0.5 --steps 100000 --out runs/hc_sql --checkpoint_every 10000
  python -m experiments.train ... --resume runs/hc_sql --steps 200000   # continue that run

Runs `R = seeds x sweep values` independent runs in one compiled program (`softq.train.train`),
sharded over all local devices. Writes DIR/results.json (per run: seed, swept values, final
evaluation return, SHA-256 of the final parameters), DIR/metrics.csv, DIR/tensorboard/,
DIR/learning_curve.png and, with --checkpoint_every, DIR/checkpoints/ (orbax; the last --keep).

Multi-host (e.g. a SLURM job with one process per host): add --distributed; JAX's own runtime
(`jax.distributed.initialize`) reads the coordinator, process count and id from
--coordinator/--num_processes/--process_id or, when unset, from the cluster environment
(SLURM, Open MPI, Cloud TPU), then every process runs the same command and the run axis is
sharded over all hosts' devices.
"""

import dataclasses
import functools
import json
import os
import sys
import time

from absl import flags

from experiments import cli

ALGOS = ("sql", "ddpg", "sac", "s2ac")
flags.DEFINE_string("algo", "sql", f"Algorithm: {', '.join(ALGOS)}.")
flags.DEFINE_string("env", "multigoal", "Environment name (softq.envs.NAMES).")
flags.DEFINE_string("backend", None, "Physics backend (Brax: generalized, positional, spring, "
                    "mjx; default: the environment's own).")
flags.DEFINE_integer("episode_length", None, "Steps before truncation (default: the task's).")
flags.DEFINE_integer("seeds", 2, "Independent seeds per sweep value.")
flags.DEFINE_string("sweep", "", "Swept fields (softq.train.sweepable: alpha and the Config's "
                    "learning rates), e.g. alpha=0.1,0.2,0.5 or 'q_learning_rate=1e-3,3e-4;"
                    "actor_learning_rate=1e-4,3e-5' (several separated by ';' are zipped and need "
                    "equal lengths).")
flags.DEFINE_integer("steps", 10_000, "Total environment steps per run.")
flags.DEFINE_integer("warmup", 1000, "Transitions collected before the first update.")
flags.DEFINE_integer("chunk", 1000, "Steps between evaluations, logs and checkpoints.")
flags.DEFINE_integer("num_envs", 1, "Parallel environments per run.")
flags.DEFINE_integer("batch", 256, "Minibatch size.")
flags.DEFINE_integer("hidden", 256, "Width of the two hidden layers of every network.")
flags.DEFINE_integer("replay", 1_000_000, "Replay capacity per run (capped at --steps).")
flags.DEFINE_integer("eval_episodes", 5, "Evaluation episodes per run and chunk.")
flags.DEFINE_integer("seed", 0, "Base PRNG seed.")
flags.DEFINE_string("out", None, "Output directory (default: --resume's).")
flags.DEFINE_integer("checkpoint_every", 0, "Save a checkpoint every N steps (0: never).")
flags.DEFINE_integer("keep", 3, "Checkpoints kept.")
flags.DEFINE_string("resume", None, "Continue the run saved in this output directory.")
flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize (multi-host).")
flags.DEFINE_string("coordinator", None, "host:port of process 0 (with --distributed).")
flags.DEFINE_integer("num_processes", None, "Process count (with --distributed).")
flags.DEFINE_integer("process_id", None, "This process's index (with --distributed).")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  for name in ("seeds", "steps", "chunk", "num_envs", "batch", "hidden", "replay",
               "eval_episodes", "keep"):
    if getattr(FLAGS, name) < 1:
      cli.fail(f"--{name} must be >= 1, got {getattr(FLAGS, name)}")
  if FLAGS.checkpoint_every < 0:
    cli.fail(f"--checkpoint_every must be >= 0, got {FLAGS.checkpoint_every}")
  if FLAGS.checkpoint_every and FLAGS.checkpoint_every % FLAGS.chunk:
    cli.fail(f"--checkpoint_every ({FLAGS.checkpoint_every}) must be a multiple of --chunk "
             f"({FLAGS.chunk})")
  sweep = parse_sweep(FLAGS.sweep)
  out = FLAGS.out or FLAGS.resume
  if out is None:
    cli.fail("--out is required (or --resume DIR to continue in DIR)")

  import jax
  if FLAGS.distributed:
    jax.distributed.initialize(FLAGS.coordinator, FLAGS.num_processes, FLAGS.process_id)
  from softq import agents, checkpoint, envs, train
  if FLAGS.algo not in agents.AGENTS:
    cli.fail(f"--algo {FLAGS.algo!r} is not available; accepted: {', '.join(agents.AGENTS)}")
  agent = agents.AGENTS[FLAGS.algo]
  try:
    env = envs.make(FLAGS.env, FLAGS.episode_length, backend=FLAGS.backend)
  except ValueError as e:
    cli.fail(str(e))
  config = cli.config_or_fail(agent.Config, **config_fields(agent))
  loop = cli.config_or_fail(
      train.LoopConfig, total_steps=FLAGS.steps, chunk_steps=FLAGS.chunk,
      warmup_steps=FLAGS.warmup, num_envs=FLAGS.num_envs, replay_capacity=FLAGS.replay,
      eval_episodes=FLAGS.eval_episodes, warmup_actions="uniform",
      exploration="ou" if FLAGS.algo == "ddpg" else "none")
  try:
    train.sweep_values(agent, config, env, sweep)
    num_runs = FLAGS.seeds * max((len(v) for v in sweep.values()), default=1)
    print(train.check_memory(env, loop, num_runs), file=sys.stderr)
  except ValueError as e:
    cli.fail(str(e))
  description = describe(config, loop, sweep)
  restore, step = None, 0
  if FLAGS.resume:
    try:
      step = checkpoint.latest(os.path.join(FLAGS.resume, "checkpoints"), description)
    except checkpoint.CheckpointError as e:
      cli.fail(str(e))
    if step >= FLAGS.steps:
      cli.fail(f"the checkpoint in {FLAGS.resume!r} is at step {step}; --steps must exceed it")
    restore = functools.partial(checkpoint.restore, os.path.join(FLAGS.resume, "checkpoints"),
                                step)
  out = cli.writable_dir(out)
  checkpointer = None
  if FLAGS.checkpoint_every:
    checkpointer = checkpoint.Checkpointer(os.path.join(out, "checkpoints"),
                                           FLAGS.checkpoint_every, description, FLAGS.keep)
  try:
    results = run_experiment(agent, config, env, loop, sweep, out, checkpointer, restore, step)
  except (checkpoint.CheckpointError, FloatingPointError) as e:
    cli.fail(str(e))
  finally:
    if checkpointer is not None:
      checkpointer.close()
  print(json.dumps({"final_eval_return": [r["final_eval_return"] for r in results["runs"]]}))


def config_fields(agent) -> dict:
  """`--hidden` (two layers) for every `*hidden*` field of the agent's Config, `--batch`."""
  names = [f.name for f in dataclasses.fields(agent.Config)]
  fields = {n: (FLAGS.hidden, FLAGS.hidden) for n in names if "hidden" in n}
  return {**fields, "batch_size": FLAGS.batch}


def parse_sweep(text: str) -> dict:
  """`'alpha=0.1,0.2;tau=0.01,0.02'` -> `{'alpha': [0.1, 0.2], 'tau': [0.01, 0.02]}`."""
  sweep = {}
  for item in filter(None, text.split(";")):
    field, _, values = item.partition("=")
    try:
      sweep[field.strip()] = [float(v) for v in values.split(",")]
    except ValueError:
      cli.fail(f"--sweep {item!r} must look like FIELD=V1,V2,... with numbers")
    if not field.strip():
      cli.fail(f"--sweep {item!r} must look like FIELD=V1,V2,... with numbers")
  return sweep


def describe(config, loop, sweep) -> dict:
  """What a checkpoint must match to be resumed (the step budget may grow)."""
  loop_fields = {k: v for k, v in dataclasses.asdict(loop).items() if k != "total_steps"}
  return json.loads(json.dumps({
      "algo": FLAGS.algo, "env": FLAGS.env, "backend": FLAGS.backend,
      "episode_length": FLAGS.episode_length, "seeds": FLAGS.seeds, "seed": FLAGS.seed,
      "sweep": sweep, "config": dataclasses.asdict(config), "loop": loop_fields}))


def run_experiment(agent, config, env, loop, sweep, out, checkpointer, restore,
                   start_step=0) -> dict:
  """Trains all runs, writes results.json, curves and logs; returns the results.

  A resumed run (`restore`, from the checkpoint at `start_step`) continues DIR/metrics.csv and
  the learning curve from that step.
  """
  import jax
  import numpy as np

  from softq import plotting, train
  from softq.logging import RunLogger

  keys = jax.random.split(jax.random.key(FLAGS.seed), FLAGS.seeds)
  num_runs = FLAGS.seeds * max((len(v) for v in sweep.values()), default=1)
  logger = RunLogger(out, loop.total_steps, num_runs, start_step)

  start = time.time()
  try:
    result = train.train(agent, config, env, keys, loop, sweep=sweep,
                         eval_key=jax.random.key(FLAGS.seed + 1), on_chunk=logger.on_chunk,
                         checkpointer=checkpointer, restore=restore)
  finally:
    logger.close()
  seconds = time.time() - start
  returns = np.asarray(result.evaluation["returns"]).mean(axis=1)
  hashes = train.params_sha256(result.carry.seeds.agent.params)
  curves = np.stack(logger.eval_returns)  # [C, R]
  labels = {}
  for r, run in enumerate(result.runs):
    label = ", ".join(f"{k}={v:g}" for k, v in run.items() if k != "seed") or FLAGS.algo
    labels.setdefault(label, []).append(r)
  plotting.learning_curves(
      os.path.join(out, "learning_curve.png"), np.asarray(logger.steps),
      {label: curves[:, idx] for label, idx in labels.items()}, "evaluation return",
      f"{FLAGS.algo.upper()} on {FLAGS.env}")
  results = {
      "command": " ".join(["python -m experiments.train"] + sys.argv[1:]),
      "algo": FLAGS.algo, "env": FLAGS.env, "backend": FLAGS.backend,
      "config": dataclasses.asdict(config), "loop": dataclasses.asdict(loop),
      "resumed": restore is not None, "wall_seconds": round(seconds, 1),
      "devices": [str(d) for d in jax.devices()],
      "runs": [{**run, "final_eval_return": float(returns[r]), "params_sha256": hashes[r]}
               for r, run in enumerate(result.runs)],
  }
  with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f, indent=2)
  return results


if __name__ == "__main__":
  cli.run(main)
