"""The one prepared accelerator check: every headline speed figure in one JSON document.

  python -m benchmarks.accelerator [--budget_s 420] [--tiny]

Meant for a GPU or TPU machine lent for a few minutes; runs anywhere. Each measurement is the
existing benchmark command in its own process (its JSON read back), in this order:
- `updates`: ms per update of each of `--algos` at its default config, halfcheetah sizes
  (`benchmarks.update_step`);
- `svgd`: the SVGD benchmark grid (`benchmarks.side_by_side svgd`: 100 steps, median bandwidth,
  log-density);
- `irl`: one MaxEnt IRL likelihood gradient on `grid_city(--irl_side)` (866: 2 996 360 states,
  horizon 200; `benchmarks.irl_scaling`);
- `benchmark_curve`: one short learning curve of the continuous-control benchmark
  (`experiments.benchmark`: `--curve_algos` on `--curve_env`, `--curve_seeds` seeds,
  `--curve_steps` steps, on `--backend`): its per-run curves, final-return table, wall time and
  action-selection times;
- `train`: env-steps/s of whole training chunks (`benchmarks.train_throughput --nophases`) for
  every algorithm x task (`--envs`, `--backend`, default mjx) x seed count (`--train_seeds`,
  vmapped), `--num_envs` environments per seed, compile time apart; one process per algorithm and
  task, seed counts ascending;
- `paper_tasks`: the same rates for `--paper_algos` (SQL and DDPG) on the soft Q-learning
  paper's tasks (`--paper_envs`: swimmer_finish on `generalized`, ant_maze on mjx), each on its
  own backend.
A measurement is cut off when the budget (`--budget_s`) is spent, and one that fails, times out or
would start too late becomes a `skipped: <why>` row, so the document always comes out whole.
`--tiny` shrinks every size so the command runs in about a minute on a CPU (for its test; the
figures mean nothing).
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from absl import flags

from softq import cli

flags.DEFINE_list("algos", ["sac", "sql", "s2ac"], "Algorithms (softq.agents.CONTINUOUS).")
flags.DEFINE_list("envs", ["hopper", "walker2d", "halfcheetah", "ant", "humanoid"],
                  "Tasks for the training rates (default: the benchmark's five).")
flags.DEFINE_string("backend", "mjx", "Physics backend of the training rates.")
flags.DEFINE_list("paper_algos", ["sql", "ddpg"], "Algorithms on the paper tasks.")
flags.DEFINE_list("paper_envs", ["swimmer_finish", "ant_maze"],
                  "softq.envs.PAPER_TASKS timed on their own backends (empty: none).")
flags.DEFINE_list("train_seeds", ["1", "8", "64"], "Seed counts (vmapped) for the training rates.")
flags.DEFINE_integer("num_envs", 128, "Parallel environments per seed.")
flags.DEFINE_integer("train_chunk", 20, "Loop iterations per timed training chunk.")
flags.DEFINE_integer("timing_repeats", 3, "Timed repeats per measurement (median).")
flags.DEFINE_integer("irl_side", 866, "Grid side of the IRL city (4 s (s - 1) states).")
flags.DEFINE_list("curve_algos", ["sac", "s2ac"], "Algorithms of the benchmark curve (the "
                  "first is its normalisation reference).")
flags.DEFINE_string("curve_env", "hopper", "Task of the benchmark curve.")
flags.DEFINE_integer("curve_seeds", 5, "Seeds of the benchmark curve.")
flags.DEFINE_integer("curve_steps", 30_000, "Steps per run of the benchmark curve.")
flags.DEFINE_integer("budget_s", 420, "No measurement starts after this many seconds.")
flags.DEFINE_bool("tiny", False, "Seconds-long sizes for the command's own test.")
FLAGS = flags.FLAGS

SVGD_GRID = [[10, 2], [10, 6], [10, 20], [100, 2], [100, 6], [100, 20], [200, 2], [200, 6],
             [200, 20]]
TINY = {"envs": ["pendulum"], "backend": "jax", "seeds": [2], "num_envs": 2, "chunk": 2,
        "repeats": 1, "irl_side": 5, "svgd_grid": [[4, 2]], "updates": 2, "obs_size": 3,
        "action_size": 1, "paper_tasks": [],  # Brax compiles for minutes: no paper task
        "curve": ["--env", "pendulum", "--seeds", 2, "--steps", 200, "--chunk", 100,
                  "--warmup", 100, "--eval_episodes", 1, "--bootstrap", 10]}
CURVE_FIELDS = ("tasks", "steps", "seeds", "curve_steps", "curves", "table", "wall_seconds",
                "action_times_ms")


def main(argv):
  del argv
  began = time.perf_counter()
  settings = _settings()

  def measure(label, module, *args):
    left = FLAGS.budget_s - (time.perf_counter() - began)
    if left < 1:
      return {"skipped": f"time budget of {FLAGS.budget_s} s spent"}
    print(f"accelerator: {label}", file=sys.stderr, flush=True)
    try:
      done = subprocess.run([sys.executable, "-m", module, *map(str, args)], text=True,
                            capture_output=True, timeout=left)
    except subprocess.TimeoutExpired:
      return {"skipped": f"cut off at the time budget of {FLAGS.budget_s} s"}
    if done.returncode != 0:
      last = (done.stderr.strip().splitlines() or ["no output"])[-1]
      return {"skipped": f"exit {done.returncode}: {last[:200]}"}
    last_line = module.endswith(("side_by_side", "experiments.benchmark"))
    return json.loads(done.stdout.strip().splitlines()[-1] if last_line else done.stdout)

  result = {"tiny": FLAGS.tiny, "budget_s": FLAGS.budget_s, "settings": settings,
            "cpu_count": os.cpu_count(), "load_before": os.getloadavg()}
  size = ["--obs_size", settings["obs_size"], "--action_size", settings["action_size"],
          "--updates", settings["updates"], "--repeats", settings["repeats"]]
  result["updates"] = [measure(f"update {algo}", "benchmarks.update_step", "--algo", algo, *size)
                       for algo in FLAGS.algos]
  grid = {"grid": settings["svgd_grid"], "steps": 100, "repeats": settings["repeats"]}
  result["svgd"] = measure("svgd", "benchmarks.side_by_side", "svgd", json.dumps(grid))
  result["irl"] = measure("irl", "benchmarks.irl_scaling", "--sides", settings["irl_side"],
                          "--peer_sides", "", "--repeats", settings["repeats"])
  with tempfile.TemporaryDirectory(prefix="softq-accelerator-") as out:
    curve = measure("benchmark curve", "experiments.benchmark", "--algo",
                    ",".join(FLAGS.curve_algos), "--reference", FLAGS.curve_algos[0],
                    "--backend", settings["backend"], *settings["curve"], "--out", out,
                    "--overwrite")
    if "skipped" not in curve:
      with open(os.path.join(out, "results.json")) as f:
        curve = {k: v for k, v in json.load(f).items() if k in CURVE_FIELDS}
  result["benchmark_curve"] = curve

  def rates(algo, env, backend):
    return {"algo": algo, "env": env, **measure(
        f"train {algo} {env}", "benchmarks.train_throughput", "--algo", algo, "--env", env,
        "--backends", backend, "--seeds", ",".join(map(str, settings["seeds"])),
        "--num_envs", settings["num_envs"], "--chunk", settings["chunk"], "--repeats",
        settings["repeats"], "--nophases")}

  result["train"] = [rates(algo, env, settings["backend"])
                     for env in settings["envs"] for algo in FLAGS.algos]
  result["paper_tasks"] = [rates(algo, env, backend) for env, backend in settings["paper_tasks"]
                           for algo in FLAGS.paper_algos]
  result["load_after"] = os.getloadavg()
  result["wall_s"] = round(time.perf_counter() - began, 1)
  print(json.dumps(result, indent=1))


def _settings() -> dict:
  """The sizes to run: the flags, or `TINY` with `--tiny`; bad values end the run (exit 2)."""
  from softq import agents, envs
  for flag in ("algos", "paper_algos"):
    unknown = [a for a in FLAGS[flag].value if a not in agents.CONTINUOUS]
    if unknown:
      cli.fail(f"--{flag} {','.join(unknown)}: unknown; accepted: {', '.join(agents.CONTINUOUS)}")
  curve_algos = agents.CONTINUOUS + ("s2ac_amortized",)  # experiments.benchmark's algorithms
  unknown = [a for a in FLAGS.curve_algos if a not in curve_algos]
  if unknown or not FLAGS.curve_algos:
    cli.fail(f"--curve_algos {','.join(FLAGS.curve_algos)}: empty or unknown; accepted: "
             f"{', '.join(curve_algos)}")
  if FLAGS.tiny:
    return {**TINY, "seeds": list(TINY["seeds"])}
  unknown = [e for e in FLAGS.envs if e not in envs.NAMES]
  if unknown:
    cli.fail(f"--envs {','.join(unknown)}: unknown; accepted: {', '.join(envs.NAMES)}")
  try:
    seeds = [int(s) for s in FLAGS.train_seeds]
  except ValueError:
    seeds = [0]
  for name, value in (("train_seeds", min(seeds)), ("num_envs", FLAGS.num_envs),
                      ("train_chunk", FLAGS.train_chunk), ("timing_repeats", FLAGS.timing_repeats),
                      ("irl_side", FLAGS.irl_side - 1), ("budget_s", FLAGS.budget_s)):
    if value < 1:
      value = getattr(FLAGS, name)
      cli.fail(f"--{name} must be >= 1 (--irl_side >= 2, --train_seeds positive integers), got "
               f"{','.join(value) if isinstance(value, list) else value}")
  unknown = [e for e in FLAGS.paper_envs if e not in envs.PAPER_TASKS]
  if unknown:
    cli.fail(f"--paper_envs {','.join(unknown)}: unknown; accepted: {', '.join(envs.PAPER_TASKS)}")
  for name in FLAGS.envs:  # builds each task once (no compilation) to check the backend
    try:
      envs.make(name, backend=FLAGS.backend)
    except ValueError as error:
      cli.fail(str(error))
  paper_tasks = [(name, envs.paper_task_backends(name)[0]) for name in FLAGS.paper_envs]
  if FLAGS.curve_env not in envs.NAMES or min(FLAGS.curve_seeds, FLAGS.curve_steps) < 1:
    cli.fail(f"--curve_env must be one of {', '.join(envs.NAMES)} and --curve_seeds, "
             f"--curve_steps >= 1; got {FLAGS.curve_env}, {FLAGS.curve_seeds}, "
             f"{FLAGS.curve_steps}")
  curve = ["--env", FLAGS.curve_env, "--seeds", FLAGS.curve_seeds, "--steps", FLAGS.curve_steps]
  return {"envs": FLAGS.envs, "backend": FLAGS.backend, "seeds": sorted(seeds),
          "num_envs": FLAGS.num_envs, "chunk": FLAGS.train_chunk, "repeats": FLAGS.timing_repeats,
          "irl_side": FLAGS.irl_side, "svgd_grid": SVGD_GRID, "updates": 50, "obs_size": 17,
          "action_size": 6, "paper_tasks": paper_tasks, "curve": curve}


if __name__ == "__main__":
  cli.run(main)
