"""experiments.ant_maze end to end at a tiny budget (SQL only: each algorithm compiles MJX for
about a minute): each run's closest approach equals the minimum in its metrics.csv, the passage
verdict follows the threshold, and the figure is written (in a subprocess: the app's flags would
clash with other apps imported by the suite)."""

import csv
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--algo=sql", "--steps=200", "--chunk=100", "--warmup=50", "--seeds=2",
        "--critic_hidden=16,16", "--actor_hidden=16,16", "--kernel_particles=4",
        "--value_particles=4", "--batch_size=8", "--episode_length=20", "--eval_episodes=1"]


def test_ant_maze_app_reports_the_closest_approach_of_every_run(tmp_path):
  out = str(tmp_path / "maze")
  proc = subprocess.run([sys.executable, "-m", "experiments.ant_maze", *TINY, "--out", out],
                        cwd=ROOT, capture_output=True, text=True, timeout=900)
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(os.path.join(out, "results.json")) as f:
    results = json.load(f)
  assert results["algos"] == ["sql"] and results["steps"] == 200
  assert os.path.getsize(os.path.join(out, "ant_maze.png")) > 10_000
  with open(os.path.join(out, "sql", "metrics.csv")) as f:
    rows = list(csv.DictReader(f))
  group = results["by_algo"]["sql"]
  for r, run in enumerate(group["test_runs"]):
    mine = [float(row["distance_min"]) for row in rows if int(row["run"]) == r]
    assert len(mine) == 2 and run["closest_distance"] == min(mine)
    assert 0.0 < run["closest_distance"] < 9.0  # the start is 8 m from the goal
    assert run["open_passage"] == (run["closest_distance"] < results["threshold"])
  assert results["threshold"] == 1.5
