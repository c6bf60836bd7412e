"""experiments.benchmark end to end at a tiny budget: two tasks, SAC and S2AC, every field of
results.json written and consistent with the runs' own outputs (the normalised scores, the
aggregates and the curves recomputed from the raw scores and metrics.csv), and the figures
(in a subprocess: the app's flags would clash with other apps imported by the suite)."""

import json
import os
import subprocess
import sys

import numpy as np
from scipy import stats

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--env=pendulum,multigoal", "--algo=sac,s2ac", "--seeds=3", "--steps=200", "--chunk=100",
        "--warmup=100", "--eval_episodes=2", "--episode_length=30", "--critic_hidden=16,16",
        "--actor_hidden=16,16", "--num_particles=3", "--num_steps=1", "--bootstrap=100"]


def test_benchmark_app_writes_scores_aggregates_times_and_figures(tmp_path):
  from softq.logging import read_metrics
  out = str(tmp_path / "benchmark")
  proc = subprocess.run([sys.executable, "-m", "experiments.benchmark", *TINY, "--out", out],
                        cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(os.path.join(out, "results.json")) as f:
    results = json.load(f)
  assert results["tasks"] == ["pendulum", "multigoal"] and results["algos"] == ["sac", "s2ac"]
  assert results["steps"] == 200 and results["seeds"] == 3
  assert results["evaluation"] == {"every_steps": 100, "episodes": 2, "keys": "fixed",
                                   "episode_limit": 30,
                                   "score": "final deterministic evaluation return"}
  for name in ("curves.png", "aggregates.png", "profiles.png"):
    assert os.path.getsize(os.path.join(out, name)) > 10_000
  raw = results["raw_scores"]
  for task in results["tasks"]:
    for algo in results["algos"]:
      with open(os.path.join(out, task, algo, "results.json")) as f:
        group = json.load(f)
      assert group["config"]["alpha"] == (1.0 if algo == "s2ac" else 0.2)  # the preset table
      assert raw["deterministic"][task][algo] == [r["final_eval_return"] for r in group["runs"]]
      assert raw["stochastic"][task][algo] == group["final_stochastic_eval_returns"]
      steps, values = read_metrics(os.path.join(out, task, algo, "metrics.csv"),
                                   ("eval_return", "eval_stochastic_return"))
      assert results["curve_steps"] == steps.tolist()
      np.testing.assert_allclose(np.asarray(results["curves"][task][algo]).T,
                                 values["eval_return"], rtol=1e-6)
      np.testing.assert_allclose(values["eval_stochastic_return"][:, -1],
                                 raw["stochastic"][task][algo], rtol=1e-6)
      times = results["action_times_ms"][task][algo]
      assert all(times[m]["ms"] > 0 and times[m]["compile_ms"] > 0 for m in ("eval", "explore"))
    reference = np.mean(raw["deterministic"][task]["sac"])
    assert results["reference_returns"][task] == reference
  mode = results["by_mode"]["deterministic"]
  low = np.array([results["random_returns"][t] for t in results["tasks"]])
  high = np.array([results["reference_returns"][t] for t in results["tasks"]])
  for algo in results["algos"]:
    table = np.array([raw["deterministic"][t][algo] for t in results["tasks"]]).T  # [S, T]
    scores = np.asarray(mode["normalised_scores"][algo])
    np.testing.assert_allclose(scores, (table - low) / (high - low), rtol=1e-9)
    iqm = mode["aggregates"]["iqm"][algo]
    np.testing.assert_allclose(iqm["value"], stats.trim_mean(scores.ravel(), 0.25), rtol=1e-9)
    assert iqm["ci"][0] <= iqm["value"] <= iqm["ci"][1]
    assert results["iqm"][algo] == iqm["value"]
  np.testing.assert_allclose(np.mean(mode["normalised_scores"]["sac"], axis=0), 1.0)
  assert set(mode["probability_of_improvement"]) == {"s2ac vs sac"}
  assert len(mode["performance_profiles"]["s2ac"]["fraction"]) == len(
      results["performance_profile_taus"])
  assert "aggregates" in results["by_mode"]["stochastic"]
