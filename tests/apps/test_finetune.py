"""experiments.ant_pretrain then experiments.finetune end to end at a tiny budget (SQL only: each
algorithm compiles MJX for about a minute): the fine-tuned runs start from the saved pre-trained
policy of their own seed and temperature, alpha follows its log-linear schedule to 0.001 in
metrics.csv, the frozen noise set ends at one vector, and results.json and the figure hold one
curve per temperature; a policy of other runs or network sizes is refused in one line (in
subprocesses: the apps' flags would clash with other apps imported by the suite)."""

import csv
import json
import os
import subprocess
import sys

import numpy as np

from softq import policy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--algo=sql", "--steps=200", "--chunk=100", "--warmup=100", "--seeds=1",
        "--sweep=alpha=1,0.1", "--critic_hidden=8,8", "--actor_hidden=8,8",
        "--kernel_particles=4", "--value_particles=4", "--batch_size=8", "--episode_length=20",
        "--eval_episodes=1"]
SCHEDULE = 40


def _run(*args):
  return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                        timeout=900)


def test_finetuning_starts_from_the_pretrained_policy_and_anneals(tmp_path):
  pre, out = str(tmp_path / "pre"), str(tmp_path / "ft")
  proc = _run("experiments.ant_pretrain", *TINY, "--out", pre)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert json.load(open(os.path.join(pre, "results.json")))["policies"]["sql"] == pre + "/sql"

  finetune = ["experiments.finetune", *TINY, "--env=ant_hallway_narrow", "--pretrained", pre,
              "--noise_set=4", f"--schedule_steps={SCHEDULE}"]
  # Other runs (one temperature) or other network sizes than the saved policy: refused.
  for extra, message in ((["--sweep=alpha=1"], "holds runs seed=0, alpha=1; seed=0, alpha=0.1"),
                         (["--critic_hidden=16,16"], "has critic networks of other sizes")):
    bad = _run(*finetune, *extra, "--out", str(tmp_path / "bad"))
    lines = [ln for ln in bad.stderr.splitlines() if ln.startswith("error:")]
    assert bad.returncode == 2 and len(lines) == 1 and message in lines[0], bad.stderr[-2000:]
    assert not os.path.exists(tmp_path / "bad")

  proc = _run(*finetune, "--out", out)
  assert proc.returncode == 0, proc.stderr[-3000:]
  results = json.load(open(os.path.join(out, "results.json")))
  assert results["env"] == "ant_hallway_narrow" and results["steps"] == 200
  assert results["by_algo"]["sql"]["init_policy"] == pre + "/sql"
  assert set(results["curves"]) == {"SQL pre-trained, α = 1", "SQL pre-trained, α = 0.1"}
  assert os.path.getsize(os.path.join(out, "finetune.png")) > 10_000

  # The second chunk's 100 updates (steps t = 0..99) anneal alpha from the run's pre-training
  # value to 0.001 over SCHEDULE steps: its logged mean is that of the schedule.
  with open(os.path.join(out, "sql", "metrics.csv")) as f:
    rows = [r for r in csv.DictReader(f) if int(r["step"]) == 200]
  progress = np.minimum(np.arange(100) / SCHEDULE, 1.0)
  for row, alpha0 in zip(sorted(rows, key=lambda r: int(r["run"])), (1.0, 0.1)):
    want = np.mean(np.exp((1 - progress) * np.log(alpha0) + progress * np.log(1e-3)))
    np.testing.assert_allclose(float(row["alpha"]), want, rtol=1e-4)
    assert np.isfinite(float(row["eval_discounted_return"]))
  saved = policy.load_all(os.path.join(out, "sql"))
  assert saved.params.noise.shape == (2, 4, 8) and saved.params.noise_count.tolist() == [1, 1]
