"""The peer-benchmark harness (`benchmarks.run`) on a tiny budget, and its Pendulum task.

The harness must finish, write results.json with every field and results.md, and turn a missing
or crashing peer environment into a `skipped: <why>` row instead of failing. The pure-JAX
`pendulum` must step exactly like gymnasium's `Pendulum-v1`, which the peers run.
"""

import json
import os
import subprocess
import sys

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from softq import envs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_pendulum_steps_like_gymnasium():
  ours = envs.make("pendulum")
  theirs = gymnasium.make("Pendulum-v1").unwrapped
  theirs.reset(seed=0)
  step = jax.jit(ours.step)
  state = ours.reset(jax.random.key(0))
  rng = np.random.default_rng(0)
  for _ in range(20):
    angle_speed = rng.uniform([-4.0, -9.0], [4.0, 9.0])  # beyond the wrap and the speed clip
    action = rng.uniform(-1.2, 1.2, size=1)  # beyond the box: both clip the torque to +-2
    theirs.state = angle_speed.copy()
    obs, reward, terminated, _, _ = theirs.step(2.0 * action)
    state = state.replace(pipeline_state=jnp.asarray(angle_speed, jnp.float32))
    stepped = step(state, jnp.asarray(action, jnp.float32))
    np.testing.assert_allclose(stepped.obs, obs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(stepped.reward, reward, rtol=1e-5, atol=1e-5)
    assert not terminated and float(stepped.done) == 0.0
  assert ours.observation_size == 3 and ours.action_size == 1 and ours.limit == 200


@pytest.mark.parametrize("only", ["nope", "svgd,nope"])
def test_unknown_benchmark_is_one_line_exit_2(tmp_path, only):
  done = subprocess.run([sys.executable, "-m", "benchmarks.run", "--only", only, "--out",
                         str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
  assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
  assert "accepted values are sac, seeds, svgd, update, irl" in done.stderr


def test_tiny_run_writes_every_field_and_skips_missing_or_crashing_peers(tmp_path):
  peers = tmp_path / "peers"
  fake = peers / "svgd" / "bin" / "python"  # a peer venv whose interpreter crashes
  fake.parent.mkdir(parents=True)
  fake.write_text("#!/bin/sh\necho 'broken interpreter' >&2\nexit 3\n")
  fake.chmod(0o755)
  out = tmp_path / "out"
  done = subprocess.run([sys.executable, "-m", "benchmarks.run", "--tiny", "--only", "svgd,irl",
                         "--peers_dir", str(peers), "--out", str(out)],
                        capture_output=True, text=True, cwd=ROOT, timeout=900)
  assert done.returncode == 0, done.stderr[-2000:]
  results = json.loads((out / "results.json").read_text())
  assert {"date", "command", "budget", "machine", "benchmarks", "commands",
          "wall_s"} <= set(results)
  assert {"cpu", "cores", "memory_gib", "softq_jax", "load_average_before",
          "load_average_after"} <= set(results["machine"])
  assert results["budget"] == "tiny" and results["command"].startswith("python -m benchmarks.run")
  svgd = results["benchmarks"]["svgd"]
  ours, peer = svgd["rows"]
  assert ours["library"] == "softq" and ours["status"] == "ok" and ours["ms"] > 0
  assert (ours["m"], ours["d"], ours["steps"]) == (10, 2, 5)
  assert np.isfinite(ours["entropy_estimate"])
  assert peer["library"] == "svgd"
  assert peer["status"] == "skipped: exit code 3: broken interpreter"
  assert "ratio_softq_over_peer" not in peer
  irl = results["benchmarks"]["irl"]["rows"]  # no irl-maxent venv under `peers`: skipped
  assert irl[0]["library"] == "softq" and irl[0]["status"] == "ok"
  assert irl[0]["seconds_per_gradient"] > 0
  assert irl[-1]["library"] == "irl-maxent"
  assert irl[-1]["status"].startswith(f"skipped: no venv at {peers / 'irl-maxent'}")
  table = (out / "results.md").read_text()
  assert "| 10 | 2 | svgd |" in table and "skipped: exit code 3" in table
  assert "skipped: no venv at" in table


def test_bounds_pieces_measure_something():
  # benchmarks.bounds explains missed targets: the matmul rate at the SAC update's shape and the
  # SVGD split into with / without the median bandwidth (tiny cells here; figures meaningless).
  from benchmarks import bounds
  assert bounds.matmul_gflops(1) > 0 and bounds.matmul_gflops(2) > 0
  (row,) = bounds.svgd_bounds([(4, 2)], steps=3)
  assert (row["m"], row["d"]) == (4, 2)
  assert min(row["svgd_ms"], row["fixed_bandwidth_ms"], row["median_alone_ms"]) > 0
  # The three critic layouts compute one function; splitting the first layer saves its state part.
  score = bounds.critic_score_bounds(states=3, particles=2, obs_size=4, action_size=2, hidden=8)
  twin, stacked, split = score["rows"]
  assert max(stacked["max_abs_difference"], split["max_abs_difference"]) < 1e-5
  assert 0 < split["flop_per_score"] < twin["flop_per_score"]


def test_accelerator_check_runs_every_section_and_records_a_spent_budget():
  # The prepared accelerator command at its tiny size, one algorithm (figures meaningless).
  done = subprocess.run([sys.executable, "-m", "benchmarks.accelerator", "--tiny", "--algos",
                         "sac", "--curve_algos", "sac"], capture_output=True, text=True,
                        cwd=ROOT)
  assert done.returncode == 0, done.stderr
  result = json.loads(done.stdout)
  (update,) = result["updates"]
  assert update["algo"] == "sac" and update["ms_per_update_median"] > 0
  assert result["svgd"][0]["ms"] > 0 and result["irl"]["ours"][0]["seconds_per_gradient"] > 0
  (train,) = result["train"]
  assert train["algo"] == "sac" and train["runs"][0]["seeds"] == 2
  assert train["runs"][0]["num_envs"] == 2 and train["runs"][0]["env_steps_per_s"] > 0
  assert result["paper_tasks"] == []  # not at the tiny size (Brax compiles for minutes)
  curve = result["benchmark_curve"]
  assert curve["tasks"] == ["pendulum"] and curve["curve_steps"] == [100, 200]
  assert np.shape(curve["curves"]["pendulum"]["sac"]) == (2, 2)  # [evaluations, seeds]
  assert curve["action_times_ms"]["pendulum"]["sac"]["eval"]["ms"] > 0
  # A spent budget cuts the running measurement off and skips the rest; the JSON still comes out.
  done = subprocess.run([sys.executable, "-m", "benchmarks.accelerator", "--tiny", "--algos",
                         "sac", "--budget_s", "1"], capture_output=True, text=True, cwd=ROOT)
  result = json.loads(done.stdout)
  rows = (result["updates"] + [result["svgd"], result["irl"], result["benchmark_curve"]]
          + result["train"])
  assert done.returncode == 0 and all("skipped" in row for row in rows)
  assert "time budget of 1 s" in rows[-1]["skipped"]


def test_sql_split_times_the_update_and_its_parts():
  from benchmarks import bounds
  rows = bounds.sql_split(obs_size=3, action_size=2, repeats=1)["rows"]
  split = {row["part"]: row for row in rows}
  assert set(split) == {"update", "critic_gradient", "sampler_gradient", "bandwidth"}
  assert all(row["ms"] > 0 for row in split.values())
  parts = split["critic_gradient"]["flop"] + split["sampler_gradient"]["flop"]
  assert 0 < parts <= split["update"]["flop"]
