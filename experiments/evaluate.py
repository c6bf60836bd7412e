"""Evaluate a saved policy: returns over fresh episodes, a trajectory figure, a Brax rollout.

  python -m experiments.evaluate --run runs/multigoal/sql --episodes 100
  python -m experiments.evaluate --run runs/hc_sac --episodes 10 --run_index 2 --mode explore

Loads run `--run_index` of the policy saved in `--run` (`softq.policy.load`), rebuilds the
environment it was trained on and writes to `--out` (default `RUN/evaluation`):
- results.json: per-episode returns and lengths, their mean with a 95 % bootstrap interval;
- trajectories.png: the episodes' (x, y) paths for the planar tasks, else the first observation
  coordinates against time;
- rollout.html (Brax tasks): the first episode in Brax's HTML viewer (it loads the viewer
  script from the web when opened).
"""

import json
import os

from absl import flags

from softq import cli

flags.DEFINE_string("run", None, "A run directory holding policy/ (written by every app).")
flags.DEFINE_integer("run_index", 0, "Which run of that directory (seed x sweep index).")
flags.DEFINE_integer("episodes", 20, "Evaluation episodes.")
flags.DEFINE_string("mode", "eval", "Action mode: eval (the agent's evaluation policy) or "
                    "explore.")
flags.DEFINE_integer("seed", 0, "PRNG seed of the episodes.")
flags.DEFINE_string("out", None, "Output directory (default RUN/evaluation).")
flags.DEFINE_bool("html", True, "Write rollout.html for Brax tasks.")
FLAGS = flags.FLAGS

PLANAR = ("multigoal", "asymmetric_multigoal", "asymmetric_multigoal_obstacle")


def main(argv):
  del argv
  if FLAGS.run is None:
    cli.fail("--run DIR is required (a run directory with policy/policy.json)")
  if FLAGS.episodes < 1:
    cli.fail(f"--episodes must be >= 1, got {FLAGS.episodes}")
  if FLAGS.mode not in ("eval", "explore"):
    cli.fail(f"--mode must be one of eval, explore, got {FLAGS.mode!r}")
  from softq import envs, policy
  try:
    pi = policy.load(FLAGS.run, FLAGS.run_index)
  except policy.PolicyError as e:
    cli.fail(str(e))
  try:
    env = envs.make(pi.env["name"], pi.env.get("episode_length"), backend=pi.env.get("backend"))
  except ValueError as e:
    cli.fail(f"{FLAGS.run}/policy/policy.json: {e}")
  out = cli.writable_dir(FLAGS.out or os.path.join(FLAGS.run, "evaluation"))
  results = evaluate(pi, env, out)
  print(json.dumps({"out": out, "mean_return": results["mean_return"],
                    "mean_return_ci95": results["mean_return_ci95"]}))


def evaluate(pi, env, out: str) -> dict:
  """Runs the episodes, writes results.json, the figure and (Brax) the HTML rollout."""
  import jax
  import numpy as np

  from softq import evaluate as stats
  from softq import plotting

  key = jax.random.key(FLAGS.seed)
  policy_fn = lambda obs, k: pi.act(obs, k, FLAGS.mode)
  rollouts = jax.jit(lambda k: stats.rollouts(env, policy_fn, k, FLAGS.episodes, env.limit))(key)
  returns = np.asarray(rollouts["returns"])
  low, high = stats.bootstrap_ci(returns[:, None], jax.random.fold_in(key, 1))
  paths = np.asarray(rollouts["paths"])
  lengths = np.asarray(rollouts["lengths"])
  title = f"{pi.algo.upper()} on {pi.env['name']} (run {FLAGS.run_index}, {FLAGS.mode} mode)"
  figure = os.path.join(out, "trajectories.png")
  if pi.env["name"] in PLANAR:
    plotting.planar_paths_figure(figure, paths[:, :, :2], lengths, title)
  else:
    plotting.observation_traces_figure(figure, paths, lengths, title)
  results = {"run": FLAGS.run, "run_index": FLAGS.run_index, "algo": pi.algo, "env": pi.env,
             "mode": FLAGS.mode, "seed": FLAGS.seed, "episodes": FLAGS.episodes,
             "returns": returns.tolist(), "lengths": lengths.tolist(),
             "mean_return": float(returns.mean()),
             "mean_return_ci95": [float(low[0]), float(high[0])]}
  if FLAGS.html and hasattr(env, "sys"):
    results["html"] = write_html(pi, env, key, os.path.join(out, "rollout.html"))
  with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f, indent=2)
  return results


def write_html(pi, env, key, path: str) -> str:
  """The first episode as Brax's HTML viewer page; returns `path`."""
  import jax
  from brax.io import html

  step = jax.jit(env.step)
  act = jax.jit(lambda obs, k: pi.act(obs, k, FLAGS.mode))
  k_reset, key = jax.random.split(key)
  state = jax.jit(env.reset)(k_reset)
  states = [state.pipeline_state]
  for _ in range(env.limit):
    key, k_act = jax.random.split(key)
    state = step(state, act(state.obs, k_act))
    states.append(state.pipeline_state)
    if float(state.done):
      break
  with open(path, "w") as f:
    f.write(html.render(env.sys.tree_replace({"opt.timestep": env.dt}), states))
  return path


if __name__ == "__main__":
  cli.run(main, epilog="")
