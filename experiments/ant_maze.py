"""Haarnoja et al. 2017 §5.2 (Figure 3b): SQL vs DDPG in the quadruped maze (§4.4).

  python -m experiments.ant_maze --out runs/ant_maze                      # small default budget
  python -m experiments.ant_maze --preset cpu --seeds 4 --out runs/ant_maze_cpu
  python -m experiments.ant_maze --preset cpu --resume runs/ant_maze_cpu --steps 400000
  python -m experiments.ant_maze --preset paper --seeds 8 --out runs/ant_maze_paper  # accelerator

A multi-algorithm `softq.launch` preset: SQL and DDPG are each trained into DIR/ALGO/ (seeds
vmapped; results.json, metrics.csv, tensorboard/, policy/, checkpoints/) with the paper's App. D
settings (alpha 0.1, 200x200 networks, batch 64, K = M = 32, 50 value particles, OU noise,
targets copied every 1000 steps). The loop tracks the centre of mass's distance to the goal over
every state the agent acted in (`distance_min` in metrics.csv), so each run's closest approach
since the start of training is exact.

A run "took the open passage" when its closest approach is below `THRESHOLD` = 1.5 m, the
distance from the goal to the barrier's far side: no point of the blocked upper passage is
closer (the paper's threshold line). Writes DIR/results.json (per algorithm and run: closest
approach, open passage or not; per algorithm the fraction of runs through the open passage with
a 95 % Wilson interval) and DIR/ant_maze.png (closest approach per run; evaluation paths over
the maze).

Budgets (`--preset`): the default (40 000 steps) is a smoke test; `cpu` is 200 000 steps per
run; `paper` is the paper's 500 epochs x 10 000 steps.
"""

import os

import numpy as np

from experiments import sql_tasks
from softq import cli, launch

THRESHOLD = 1.5  # m: goal (8, 0) to the barrier's far side (y = 1.5)
PRESETS = sql_tasks.presets(target_update_period=1000)


def closest_history(metrics_csv: str) -> tuple[np.ndarray, np.ndarray]:
  """`(steps [C], closest [R, C])`: each run's minimum distance to the goal since the start of
  training, from the per-chunk `distance_min` of its metrics.csv."""
  from softq.logging import read_metrics
  steps, values = read_metrics(metrics_csv, ("distance_min",))
  return steps, np.fmin.accumulate(values["distance_min"], axis=1)


def report(run: launch.Run) -> dict:
  """Per-run closest approach and the fraction of runs through the open passage."""
  from softq import stats
  steps, closest = closest_history(os.path.join(run.out, "metrics.csv"))
  paths = np.asarray(run.result.evaluation["paths"])[..., -2:]  # centre of mass [R, E, T+1, 2]
  run.extras["maze"] = (steps, closest, paths)
  open_passage = closest[:, -1] < THRESHOLD
  low, high = stats.wilson_interval(open_passage.mean(), len(open_passage))
  runs = [{**record, "closest_distance": float(closest[r, -1]),
           "open_passage": bool(open_passage[r])} for r, record in enumerate(run.records)]
  return {"threshold": THRESHOLD, "test_runs": runs,
          "open_passage_fraction": float(open_passage.mean()),
          "open_passage_ci95": [float(low), float(high)]}


def combine(runs: list, out: str) -> dict:
  """DIR/ant_maze.png and, per algorithm, the fraction of runs through the open passage."""
  from softq import plotting
  from softq.envs import ant_tasks
  by_algo = sql_tasks.results_by_algo(runs, ("test_runs", "open_passage_fraction", "open_passage_ci95"))
  steps = runs[0].extras["maze"][0]
  plotting.maze_figure(
      os.path.join(out, "ant_maze.png"), steps,
      {run.algo.upper(): run.extras["maze"][1] for run in runs},
      {run.algo.upper(): run.extras["maze"][2] for run in runs}, ant_tasks.MAZE_WALLS,
      ant_tasks.MAZE_GOAL, THRESHOLD, f"Quadruped maze, {steps[-1]} steps per run")
  return {"threshold": THRESHOLD, "steps": int(steps[-1]), "by_algo": by_algo,
          "open_passage_fraction": {a: r["open_passage_fraction"] for a, r in by_algo.items()}}


APP = launch.App(
    name="ant_maze", algos=("sql", "ddpg"), default_algo="sql,ddpg", env="ant_maze", seeds=4,
    multi=True, presets=PRESETS, budgets=sql_tasks.BUDGETS, track=("distance",),
    loop=dict(total_steps=40_000, chunk_steps=5000, warmup_steps=10_000, eval_episodes=2),
    report=report, combine=combine, summary=("open_passage_fraction",))
launch.define(APP)

if __name__ == "__main__":
  cli.run(lambda argv: launch.main(APP))
