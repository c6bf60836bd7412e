"""Shared flags, validation, runs and outputs of the §6 experiments (pg_a2c, pg_dqn, pg_matched).

Each experiment trains a few variants with `softq.train.onpolicy.run` (seeds vmapped) and writes
`--out/results.json`, `--out/curves.png` (mean ± std over seeds of the training return) and
each variant's final policies, `--out/policies/<variant>/policy/` (`softq.policy.load`).
"""

import json
import os

from absl import flags
import numpy as np

from softq import cli, envs, launch

FLAGS = flags.FLAGS
flags.DEFINE_string("env", "CartPole-v1", f"environment, one of {', '.join(envs.DISCRETE_NAMES)}")
flags.DEFINE_integer("seeds", 5, "independent seeds (vmapped), > 0")
flags.DEFINE_integer("updates", 0, "updates per run, > 0 (0 = the environment's default)")
flags.DEFINE_integer("num_envs", 16, "parallel environments per seed, > 0")
flags.DEFINE_integer("rollout", 0, "steps per environment per update (0 = default), >= 0")
flags.DEFINE_float("lr", 0.0, "Adam learning rate, >= 0 (0 = the environment's default)")
flags.DEFINE_integer("seed", 0, "base PRNG seed")
flags.DEFINE_bool("progress", True, "show a progress bar")

# Per-environment defaults: (MLP widths, learning rate, updates, rollout length).
DEFAULTS = {
    "CartPole-v1": ((64, 64), 3e-3, 1500, 8),
    "Acrobot-v1": ((64, 64), 3e-3, 1500, 8),
}
MINATAR_DEFAULT = ((256, 256), 1e-3, 2000, 5)


def settings():
  """Validated `(env, hidden, lr, updates, rollout, chunk)`; exits 2 with one line if invalid.

  Runs before any jax compilation, after the app's own checks: it ends by taking `--out`
  (`launch.output_dir`: a non-empty directory is refused unless `--overwrite`).
  """
  problems = []
  if FLAGS.env not in envs.DISCRETE_NAMES:
    problems.append(f"--env {FLAGS.env!r} is not supported; accepted: "
                    f"{', '.join(envs.DISCRETE_NAMES)}")
  for name in ("seeds", "num_envs"):
    if getattr(FLAGS, name) <= 0:
      problems.append(f"--{name} must be a positive integer, got {getattr(FLAGS, name)}")
  for name in ("updates", "rollout", "lr"):
    if getattr(FLAGS, name) < 0:
      problems.append(f"--{name} must be >= 0 (0 = default), got {getattr(FLAGS, name)}")
  if problems:
    cli.fail(problems[0])
  launch.output_dir()
  hidden, lr, updates, rollout = DEFAULTS.get(FLAGS.env, MINATAR_DEFAULT)
  updates = FLAGS.updates or updates
  chunk = next(c for c in (100, 50, 20, 10, 5, 2, 1) if updates % c == 0)
  return FLAGS.env, hidden, FLAGS.lr or lr, updates, FLAGS.rollout or rollout, chunk


def save_policy(label: str, algo: str, config, params, env_name: str) -> str:
  """Saves a variant's final policies (every seed) under `--out/policies/<label>/`."""
  from softq import policy
  env = envs.make_discrete(env_name)
  folder = os.path.join(FLAGS.out, "policies", "".join(
      c if c.isalnum() or c in "-_." else "_" for c in label))
  runs = [{"run": s, "seed": s} for s in range(FLAGS.seeds)]
  return policy.save(folder, algo, config, params, {"name": env_name, "kind": "discrete"},
                     env.obs_size, env.num_actions, runs)


def summarise(metrics, timing, steps_per_update, extra_keys=()):
  """Summary of one variant: final return (last 10% of updates) mean/std over seeds, curves."""
  returns = metrics["episode_return"]
  num_updates = returns.shape[1]
  tail = max(1, num_updates // 10)
  final = returns[:, -tail:].mean(axis=1)
  stride = max(1, num_updates // 100)
  summary = {
      "final_return_mean": float(final.mean()),
      "final_return_std": float(final.std()),
      "final_return_per_seed": final.tolist(),
      "mean_return_over_training": float(returns.mean()),
      "env_steps_per_seed": int(num_updates * steps_per_update),
      "compile_plus_first_chunk_s": timing["compile_s"],
      "steady_s": timing["steady_s"],
      "curve_env_steps": (np.arange(0, num_updates, stride) * steps_per_update).tolist(),
      "curve_mean": returns[:, ::stride].mean(0).tolist(),
      "curve_std": returns[:, ::stride].std(0).tolist(),
  }
  for key in extra_keys:
    summary[f"{key}_mean_over_training"] = float(metrics[key].mean())
    summary[f"{key}_curve_mean"] = metrics[key][:, ::stride].mean(0).tolist()
  return summary


def write(app, experiment, config, results, ylabel="training episode return"):
  """Writes results.json (after `launch.results_core(app)`) and curves.png (mean ± std bands)
  under --out."""
  path = os.path.join(FLAGS.out, "results.json")
  with open(path, "w") as f:
    json.dump({**launch.results_core(app), "experiment": experiment,
               "config": config, "variants": results}, f, indent=1)
  from softq import plotting
  plotting.band_curves(
      os.path.join(FLAGS.out, "curves.png"),
      {label: (s["curve_env_steps"], s["curve_mean"], s["curve_std"])
       for label, s in results.items()},
      config["seeds"], "environment steps per seed", ylabel, f"{experiment}: {config['env']}")
  print(json.dumps({k: [round(v["final_return_mean"], 2), round(v["final_return_std"], 2)]
                    for k, v in results.items()}))

