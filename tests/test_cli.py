"""Bad input to the experiment apps: one readable line on stderr, exit code 2, nothing compiled."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = {
    "unknown algorithm": (["--algo", "ppo"], "algo"),
    "non-positive alpha": (["--alpha", "0"], "alpha must be > 0"),
    "too few particles": (["--particles", "1"], "kernel_particles must be >= 2"),
    "non-positive batch": (["--batch", "0"], "--batch must be >= 1"),
    "negative DDPG penalty": (["--algo", "ddpg", "--preactivation_penalty", "-1"],
                              "preactivation_penalty must be >= 0"),
    "budget shorter than warm-up": (["--steps", "2000", "--warmup", "5000"], "warmup_steps"),
    "unwritable output": (["--out", "/proc/softq-cannot-write"], "cannot be written"),
    "missing output": (None, "--out"),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
  """Runs every case of CASES as a subprocess, all at once; returns {name: (rc, stderr)}."""
  out = str(tmp_path_factory.mktemp("out"))
  procs = {}
  for name, (args, _) in CASES.items():
    argv = ["--out", out] + args if args is not None else []
    if args is not None and "--out" in args:
      argv = args
    procs[name] = subprocess.Popen(
        [sys.executable, "-m", "experiments.multigoal"] + argv, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  results = {name: (p.wait(timeout=300), p.stderr.read()) for name, p in procs.items()}
  assert os.listdir(out) == []  # nothing was written for any bad input
  return results


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gives_one_line_and_exit_code_2(outcomes, name):
  rc, stderr = outcomes[name]
  lines = [l for l in stderr.splitlines() if l.strip()]
  assert rc == 2, stderr
  assert len(lines) == 1, stderr
  assert CASES[name][1] in lines[0], lines[0]


OTHER_APPS = {
    "pg_a2c bad tau": (["experiments.pg_a2c", "--tau", "0"], "--tau must be > 0"),
    "irl_routes too few trips": (["experiments.irl_routes", "--trips", "1"], "trips"),
    "irl_scaling unknown flag": (["benchmarks.irl_scaling", "--bogus", "1"], "bogus"),
    "update_step unknown agent": (["benchmarks.update_step", "--algo", "ppo"], "accepted"),
}


def test_other_apps_and_benchmarks_give_one_line_and_exit_code_2(tmp_path):
  procs = {name: subprocess.Popen(
      [sys.executable, "-m"] + argv + ["--out", str(tmp_path / "out")]
      if argv[0].startswith("experiments") else [sys.executable, "-m"] + argv,
      cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
           for name, (argv, _) in OTHER_APPS.items()}
  for name, proc in procs.items():
    _, stderr = proc.communicate(timeout=300)
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert proc.returncode == 2 and len(lines) == 1, (name, proc.returncode, lines)
    assert OTHER_APPS[name][1] in lines[0], (name, lines[0])
  out = tmp_path / "out"
  assert not out.exists() or not any(out.iterdir())  # nothing was written
