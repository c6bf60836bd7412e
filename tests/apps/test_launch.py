"""The launcher end to end (subprocesses, tiny budgets): a run resumed to a larger budget ends bit
for bit where one uninterrupted run ends, for `experiments.train` and `experiments.multigoal`;
`--overwrite` replaces a run; every run leaves a policy that loads and acts; results.json holds
the common core; `experiments.evaluate` evaluates the saved policy."""

import json
import os
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from softq import policy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN = ["experiments.train", "--algo=sac", "--env=multigoal", "--seeds=2", "--chunk=20",
         "--warmup=20", "--batch_size=8", "--critic_hidden=8,8", "--actor_hidden=8,8",
         "--eval_episodes=1", "--sweep=alpha=0.1,0.3"]
MULTIGOAL = ["experiments.multigoal", "--algo=sql", "--seeds=2", "--chunk=20", "--warmup=20",
             "--batch_size=8", "--critic_hidden=8,8", "--actor_hidden=8,8",
             "--kernel_particles=4", "--value_particles=4", "--eval_episodes=3"]


def _run(args, *extra):
  proc = subprocess.run([sys.executable, "-m", *args, *extra], cwd=ROOT, capture_output=True,
                        text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return proc


def _results(directory):
  with open(os.path.join(directory, "results.json")) as f:
    return json.load(f)


@pytest.mark.slow
@pytest.mark.parametrize("app", [TRAIN, MULTIGOAL], ids=["train", "multigoal"])
def test_resume_to_a_larger_budget_equals_one_uninterrupted_run(app, tmp_path):
  """40 steps, then --resume to 80, equals 80 steps at once: same parameter hashes and the same
  metrics.csv (the replay buffer, sized by the first budget, is grown exactly)."""
  short, whole = str(tmp_path / "short"), str(tmp_path / "whole")
  _run(app, "--steps=40", f"--out={short}")
  assert _results(short)["loop"]["total_steps"] == 40
  _run(app, "--steps=80", f"--resume={short}")
  _run(app, "--steps=80", f"--out={whole}")
  resumed, uninterrupted = _results(short), _results(whole)
  assert resumed["resumed_from_step"] == 40 and uninterrupted["resumed_from_step"] is None
  hashes = [r["params_sha256"] for r in uninterrupted["runs"]]
  assert [r["params_sha256"] for r in resumed["runs"]] == hashes
  assert len(set(hashes)) == len(hashes)  # the runs really differ
  with open(os.path.join(short, "metrics.csv")) as f, open(os.path.join(whole,
                                                                         "metrics.csv")) as g:
    assert f.read() == g.read()
  if app is MULTIGOAL:
    assert resumed["goal_counts"] == uninterrupted["goal_counts"]


S2_MULTI = ["experiments.s2ac_multigoal", "--algo=sac,sql", "--sweep=alpha=1", "--seeds=2",
            "--steps=100", "--warmup=50", "--chunk=50", "--critic_hidden=8,8",
            "--actor_hidden=8,8", "--batch_size=8", "--kernel_particles=4",
            "--value_particles=4", "--episodes=2", "--grid=2"]


@pytest.mark.slow
def test_a_multi_algorithm_run_stopped_between_algorithms_resumes(tmp_path):
  """A multi-algorithm run that stopped before its second algorithm's first checkpoint resumes
  at the same budget: the finished algorithm is only reported again (the same evaluation), the
  other trains from the start, and both end as in one uninterrupted run."""
  out = str(tmp_path / "run")
  _run(S2_MULTI, f"--out={out}")
  whole = {algo: _results(os.path.join(out, algo)) for algo in ("sac", "sql")}
  combined = _results(out)
  shutil.rmtree(os.path.join(out, "sql"))
  os.remove(os.path.join(out, "results.json"))
  _run(S2_MULTI, f"--resume={out}")
  for algo in ("sac", "sql"):
    again = _results(os.path.join(out, algo))
    assert again["resumed_from_step"] == (100 if algo == "sac" else None)
    for field in ("params_sha256", "final_eval_return"):
      assert [r[field] for r in again["runs"]] == [r[field] for r in whole[algo]["runs"]]
  strip = lambda by_algo: {a: {k: v for k, v in r.items() if k != "wall_seconds"}
                           for a, r in by_algo.items()}
  assert strip(_results(out)["by_algo"]) == strip(combined["by_algo"])


@pytest.mark.slow
def test_a_run_leaves_results_a_policy_and_can_be_replaced(tmp_path):
  out = str(tmp_path / "run")
  _run(TRAIN, "--steps=40", f"--out={out}")
  results = _results(out)
  for field in ("app", "command", "config", "loop", "versions", "devices", "runs", "diverged"):
    assert field in results, field
  assert results["app"] == "train" and results["versions"]["jax"] == jax.__version__
  assert [(r["run"], r["seed"], r["alpha"]) for r in results["runs"]] == [
      (0, 0, 0.1), (1, 1, 0.1), (2, 0, 0.3), (3, 1, 0.3)]
  assert results["config"]["critic_hidden"] == [8, 8] and results["diverged"] == []
  for name in ("learning_curve.png", "metrics.csv", "tensorboard", "checkpoints", "policy"):
    assert os.path.exists(os.path.join(out, name)), name

  # The README's three lines: load run 2 of the saved policy and act with it.
  pi = policy.load(out, run=2)
  action = pi.act(jnp.zeros(2), jax.random.key(0))
  assert action.shape == (2,) and bool(jnp.all(jnp.abs(action) <= 1.0))
  assert pi.config.critic_hidden == (8, 8) and pi.run["alpha"] == 0.3
  batch = pi.act(jnp.zeros((5, 2)), jax.random.key(1), mode="explore")
  assert batch.shape == (5, 2)
  with pytest.raises(policy.PolicyError, match="runs 0..3"):
    policy.load(out, run=4)

  evaluated = _run(["experiments.evaluate", f"--run={out}", "--run_index=2", "--episodes=3"])
  summary = json.loads(evaluated.stdout.strip().splitlines()[-1])
  with open(os.path.join(out, "evaluation", "results.json")) as f:
    evaluation = json.load(f)
  assert len(evaluation["returns"]) == 3
  assert np.isclose(summary["mean_return"], np.mean(evaluation["returns"]))
  low, high = evaluation["mean_return_ci95"]
  assert min(evaluation["returns"]) <= low <= summary["mean_return"] <= high
  assert os.path.getsize(os.path.join(out, "evaluation", "trajectories.png")) > 0

  _run(TRAIN, "--steps=40", f"--out={out}", "--overwrite")  # the same program: compiled once
  assert not os.path.exists(os.path.join(out, "evaluation"))  # the old run's outputs are gone
  assert [r["params_sha256"] for r in _results(out)["runs"]] == [
      r["params_sha256"] for r in results["runs"]]
  assert policy.load(out, run=2).run == pi.run
