"""experiments.swimmer end to end at a tiny budget: SQL and DDPG trained in one command, each
run's furthest positions equal the extremes in its metrics.csv, and the figure is written (in a
subprocess: the app's flags would clash with other apps imported by the suite)."""

import csv
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--steps=400", "--chunk=200", "--warmup=100", "--seeds=2", "--critic_hidden=16,16",
        "--actor_hidden=16,16", "--kernel_particles=4", "--value_particles=4", "--batch_size=8",
        "--episode_length=50"]


def test_swimmer_app_reports_the_furthest_positions_of_every_run(tmp_path):
  out = str(tmp_path / "swimmer")
  proc = subprocess.run([sys.executable, "-m", "experiments.swimmer", *TINY, "--out", out],
                        cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(os.path.join(out, "results.json")) as f:
    results = json.load(f)
  assert results["algos"] == ["sql", "ddpg"] and results["steps"] == 400
  assert os.path.getsize(os.path.join(out, "swimmer.png")) > 10_000
  for algo in ("sql", "ddpg"):
    with open(os.path.join(out, algo, "metrics.csv")) as f:
      rows = list(csv.DictReader(f))
    group = results["by_algo"][algo]
    for r, run in enumerate(group["test_runs"]):
      mine = [row for row in rows if int(row["run"]) == r]
      assert len(mine) == 2  # one row per chunk
      assert run["furthest_forward_x"] == max(float(row["com_x_max"]) for row in mine)
      assert run["furthest_backward_x"] == min(float(row["com_x_min"]) for row in mine)
      assert run["crossed"] == (run["furthest_forward_x"] > 1.5)
    crossed = np.mean([run["crossed"] for run in group["test_runs"]])
    assert group["crossed_fraction"] == crossed
    low, high = group["crossed_ci95"]
    assert 0.0 <= low <= crossed <= high <= 1.0
