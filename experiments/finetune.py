"""Haarnoja et al. 2017 §5.3 (Figures 4, 5 and 7), fine-tuning (§4.5): SQL and DDPG policies
pre-trained on the planar speed of the quadruped (`experiments.ant_pretrain`), fine-tuned in a
hallway or the U-maze, against DDPG from scratch.

  python -m experiments.ant_pretrain --out runs/ant_pretrain               # first, pre-training
  python -m experiments.finetune --pretrained runs/ant_pretrain --env ant_hallway_wide \\
      --out runs/finetune_wide                                              # small default budget
  python -m experiments.ant_pretrain --preset cpu --seeds 4 --out runs/ant_pretrain_cpu
  python -m experiments.finetune --preset cpu --seeds 4 --pretrained runs/ant_pretrain_cpu \\
      --env ant_u_maze --out runs/finetune_u_maze_cpu

A multi-algorithm `softq.launch` preset over one fine-tuning task (`--env`: ant_hallway_wide,
ant_hallway_narrow, ant_u_maze):
- `sql`: each run starts from the networks of the SQL run of the same seed and temperature saved
  in `--pretrained`/sql (`softq.policy`); alpha anneals log-linearly from that temperature to
  0.001 and acting draws its noise from a frozen set of 32 vectors whose first n are used, n
  falling linearly to 1, both within 20 of the fine-tuning's 200 epochs (`sql.Config.alpha_final`,
  `noise_set`, `schedule_steps`);
- `ddpg_pretrained`: starts from `--pretrained`/ddpg;
- `ddpg`: from scratch.
Targets are copied every 1000 steps; the other settings are the pre-training's (App. D). Only
the networks are loaded: optimizer states and replay buffers start empty.

Writes DIR/ALGO/ (results.json, metrics.csv with `eval_discounted_return`, policy/, ...),
DIR/finetune.png (average discounted return of the evaluation episodes, mean ± std over seeds,
one curve per algorithm and pre-training temperature) and DIR/results.json (per curve: the
final value and the mean over the curve, each with its std over seeds).

Budgets (`--preset`): the default (20 000 steps, schedules over 2 000) is a smoke test; `cpu`
is 60 000 steps (schedules over 6 000, the paper's fraction); `paper` is 2 million steps with
the schedules over 200 000 (20 epochs of 10 000 steps).
"""

import os

import numpy as np
from absl import flags

from experiments import sql_tasks
from softq import cli, launch

TASKS = ("ant_hallway_wide", "ant_hallway_narrow", "ant_u_maze")
flags.DEFINE_string("pretrained", "runs/ant_pretrain", "Output folder of experiments.ant_pretrain"
                    " (its sql/ and ddpg/ policies are the starting points).")
FLAGS = flags.FLAGS

_PRE = sql_tasks.presets(target_update_period=1000)
PRESETS = {
    "sql": dict(_PRE["sql"], alpha_final=1e-3, noise_set=32, noise_set_final=1,
                schedule_steps=2000),
    "ddpg": _PRE["ddpg"],
    "ddpg_pretrained": _PRE["ddpg"],
}
BUDGETS = {
    "cpu": {"loop": dict(total_steps=60_000, chunk_steps=10_000, warmup_steps=10_000),
            "sql": {"schedule_steps": 6000}},
    "paper": {"loop": dict(total_steps=2_000_000, chunk_steps=10_000, warmup_steps=10_000),
              "sql": {"schedule_steps": 200_000}},
}
STARTS = {"sql": "sql", "ddpg_pretrained": "ddpg"}  # algorithm -> pre-trained policy folder
LABELS = {"sql": "SQL pre-trained", "ddpg": "DDPG from scratch",
          "ddpg_pretrained": "DDPG pre-trained"}


def check(algo, config, loop) -> str | None:
  """Only the fine-tuning tasks; a pre-training folder for the algorithms that start from one."""
  del config, loop
  if FLAGS.env not in TASKS:
    return f"--env {FLAGS.env!r} is not a fine-tuning task; accepted: {', '.join(TASKS)}"
  if algo in STARTS and not os.path.isdir(os.path.join(FLAGS.pretrained, STARTS[algo])):
    return (f"--pretrained {FLAGS.pretrained!r} has no {STARTS[algo]}/ folder (run "
            f"experiments.ant_pretrain --out {FLAGS.pretrained} first)")
  return None


def init_policy(algo: str) -> str | None:
  """The saved policy an algorithm's runs start from (none for DDPG from scratch)."""
  return os.path.join(FLAGS.pretrained, STARTS[algo]) if algo in STARTS else None


def curves(run: launch.Run) -> dict:
  """`{label: [C, S]}` evaluation discounted returns, one curve per pre-training temperature."""
  history = np.stack(run.logger.eval_discounted_returns)  # [C, R]
  groups = {}
  for record in run.records:
    label = LABELS[run.algo] + (f", α = {record['alpha']:g}" if "alpha" in record else "")
    groups.setdefault(label, []).append(record["run"])
  return {label: history[:, idx] for label, idx in groups.items()}


def report(run: launch.Run) -> dict:
  """The discounted-return curves of this algorithm, summarised per curve."""
  run.extras["curves"] = (np.asarray(run.logger.steps), curves(run))
  return {"curves": _summaries(run.extras["curves"][1])}


def _summaries(by_label: dict) -> dict:
  out = {}
  for label, values in by_label.items():
    final, mean = values[-1], values.mean(axis=0)
    out[label] = {"final_mean": float(final.mean()), "final_std": float(final.std()),
                  "curve_mean": float(mean.mean()), "curve_mean_std": float(mean.std()),
                  "seeds": int(values.shape[1])}
  return out


def combine(runs: list, out: str) -> dict:
  """DIR/finetune.png and every curve's summary."""
  from softq import plotting
  steps = runs[0].extras["curves"][0]
  every = {label: values for run in runs for label, values in run.extras["curves"][1].items()}
  plotting.learning_curves(
      os.path.join(out, "finetune.png"), steps, every, "average discounted return",
      f"Fine-tuning on {FLAGS.env}")
  return {"env": FLAGS.env, "pretrained": FLAGS.pretrained, "steps": int(steps[-1]),
          "curves": _summaries(every),
          "by_algo": sql_tasks.results_by_algo(runs, ("init_policy",))}


APP = launch.App(
    name="finetune", algos=("sql", "ddpg", "ddpg_pretrained"),
    default_algo="sql,ddpg,ddpg_pretrained", default_env="ant_hallway_wide", seeds=4,
    multi=True, sweep={"sql": sql_tasks.ANT_ALPHAS}, variants={"ddpg_pretrained": "ddpg"},
    presets=PRESETS, budgets=BUDGETS, check=check, init_policy=init_policy,
    loop=dict(total_steps=20_000, chunk_steps=5000, warmup_steps=10_000, eval_episodes=1),
    report=report, combine=combine, summary=("curves",))
launch.define(APP)

if __name__ == "__main__":
  cli.run(lambda argv: launch.main(APP))
