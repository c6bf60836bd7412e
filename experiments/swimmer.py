"""Haarnoja et al. 2017 §5.2 (Figures 3a and 6): SQL vs DDPG on the swimmer with a finish line
(§4.3).

  python -m experiments.swimmer --out runs/swimmer                       # small default budget
  python -m experiments.swimmer --preset cpu --seeds 4 --out runs/swimmer_cpu
  python -m experiments.swimmer --preset cpu --resume runs/swimmer_cpu --steps 400000
  python -m experiments.swimmer --preset paper --seeds 8 --out runs/swimmer_paper   # accelerator

A multi-algorithm `softq.launch` preset: SQL and DDPG are each trained into DIR/ALGO/ (seeds
vmapped; results.json, metrics.csv, tensorboard/, policy/, checkpoints/), with the paper's
App. D settings (alpha 0.1, 200x200 networks, batch 64, K = M = 32, 50 value particles, OU noise,
targets copied every 5000 steps). The loop tracks the centre of mass's x over every state the
agent acted in (`com_x_max` / `com_x_min` in metrics.csv), so each run's furthest forward and
backward positions since the start of training are exact, not sampled.

Writes DIR/results.json (per algorithm and run: furthest forward / backward x, crossed the line,
swam forward; per algorithm the fraction of runs that crossed and that swam forward, with 95 %
Wilson intervals) and DIR/swimmer.png (furthest forward x per run; each run's x range).

Budgets (`--preset`): the default (40 000 steps) is a smoke test; `cpu` is 200 000 steps per
run; `paper` is the paper's 500 epochs x 10 000 steps. A run "swims forward" when its furthest
forward distance exceeds its furthest backward one.
"""

import os

import numpy as np

from experiments import sql_tasks
from softq import cli, launch

PRESETS = sql_tasks.presets(target_update_period=5000)


def reach_history(metrics_csv: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """`(steps [C], furthest_forward [R, C], furthest_backward [R, C])` since the start of
  training, from the per-chunk `com_x_max` / `com_x_min` of a run's metrics.csv."""
  from softq.logging import read_metrics
  steps, values = read_metrics(metrics_csv, ("com_x_max", "com_x_min"))
  return (steps, np.fmax.accumulate(values["com_x_max"], axis=1),
          np.fmin.accumulate(values["com_x_min"], axis=1))


def report(run: launch.Run) -> dict:
  """Per-run furthest positions and the fractions that crossed the line and swam forward."""
  from softq import stats
  from softq.envs import swimmer_finish
  steps, forward, backward = reach_history(os.path.join(run.out, "metrics.csv"))
  run.extras["reach"] = (steps, forward, backward)
  crossed = forward[:, -1] > swimmer_finish.FINISH_X
  ahead = forward[:, -1] > -backward[:, -1]
  n = len(crossed)
  runs = [{**record, "furthest_forward_x": float(forward[r, -1]),
           "furthest_backward_x": float(backward[r, -1]), "crossed": bool(crossed[r]),
           "swam_forward": bool(ahead[r])} for r, record in enumerate(run.records)]
  summary = {}
  for name, outcome in (("crossed", crossed), ("swam_forward", ahead)):
    low, high = stats.wilson_interval(outcome.mean(), n)
    summary[f"{name}_fraction"] = float(outcome.mean())
    summary[f"{name}_ci95"] = [float(low), float(high)]
  return {"finish_x": swimmer_finish.FINISH_X, "test_runs": runs, **summary}


def combine(runs: list, out: str) -> dict:
  """DIR/swimmer.png and, per algorithm, the fractions of runs that crossed and swam forward."""
  from softq import plotting
  from softq.envs import swimmer_finish
  by_algo = sql_tasks.results_by_algo(runs, ("test_runs", "crossed_fraction", "crossed_ci95",
                                              "swam_forward_fraction", "swam_forward_ci95"))
  steps = runs[0].extras["reach"][0]
  plotting.swimmer_figure(
      os.path.join(out, "swimmer.png"), steps,
      {run.algo.upper(): run.extras["reach"][1:] for run in runs}, swimmer_finish.FINISH_X,
      f"Swimmer with a finish line, {steps[-1]} steps per run")
  return {"finish_x": swimmer_finish.FINISH_X, "steps": int(steps[-1]), "by_algo": by_algo,
          "crossed_fraction": {a: r["crossed_fraction"] for a, r in by_algo.items()},
          "swam_forward_fraction": {a: r["swam_forward_fraction"] for a, r in by_algo.items()}}


APP = launch.App(
    name="swimmer", algos=("sql", "ddpg"), default_algo="sql,ddpg", env="swimmer_finish",
    seeds=4, multi=True, presets=PRESETS, budgets=sql_tasks.BUDGETS, track=("com_x",),
    loop=dict(total_steps=40_000, chunk_steps=5000, warmup_steps=10_000, eval_episodes=1),
    report=report, combine=combine, summary=("crossed_fraction", "swam_forward_fraction"))
launch.define(APP)

if __name__ == "__main__":
  cli.run(lambda argv: launch.main(APP))
