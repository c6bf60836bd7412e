"""Messaoud et al. 2024 §4.2: S2AC, SAC and SQL on the asymmetric multi-goal task across
temperatures.

  python -m experiments.s2ac_multigoal --algo s2ac,sac,sql --alphas 0.2,1,3,5 --seeds 2 \
      --out runs/s2ac_multigoal

For each algorithm every (alpha, seed) pair is one run of a single compiled program (`train.train`
with an alpha sweep: the runs are a vmapped axis, not a Python loop). After training, each run is
evaluated on the task without and with the test-time obstacle (§4.2). Writes DIR/results.json
(per algorithm, alpha and seed: fraction of test episodes ending at each goal, fraction hitting
the obstacle and still reaching a goal, the entropy estimate at the six probe states), and
DIR/trajectories.png / DIR/trajectories_obstacle.png (rows = algorithms, columns = alpha),
DIR/entropy_heatmap.png (the policy entropy over the plane), DIR/goal_distribution.png, and per
algorithm DIR/ALGO/metrics.csv and tensorboard/.
"""

import json
import os
import sys
import time

from absl import flags

from experiments import cli

ALGOS = ("s2ac", "s2ac_fixed", "s2ac_amortized", "sac", "sql")
flags.DEFINE_list("algo", ["s2ac"], f"Comma-separated algorithms, from {', '.join(ALGOS)}.")
flags.DEFINE_list("alphas", ["0.2", "1", "3", "5"], "Comma-separated temperatures (> 0).")
flags.DEFINE_integer("seeds", 2, "Seeds per temperature.")
flags.DEFINE_string("out", None, "Output directory.")
flags.DEFINE_integer("steps", 10_000, "Environment steps per run.")
flags.DEFINE_integer("warmup", 2000, "Uniformly random steps before the first update (§3.9).")
flags.DEFINE_integer("chunk", 1000, "Steps between evaluations/logs (a multiple of 50).")
flags.DEFINE_integer("hidden", 64, "Width of every hidden layer (paper: 256).")
flags.DEFINE_integer("batch", 100, "Minibatch size (§3.9).")
flags.DEFINE_integer("particles", 10, "S2AC particles m (§3.9) and SQL kernel particles.")
flags.DEFINE_integer("svgd_steps", 10, "S2AC SVGD steps L (§3.9: 10 on this task).")
flags.DEFINE_float("lr", 1e-3, "Adam learning rate of every net (§3.9).")
flags.DEFINE_string("bandwidth", "median", "S2AC kernel bandwidth h: median, median_distance, "
                    "mean (§2.4, recomputed every SVGD step) or a number (fixed).")
flags.DEFINE_enum("log_det", "exact", ("trace", "exact"),
                  "S2AC log-density increment per SVGD step: the exact leave-one-out "
                  "log-determinant (stein.svgd_step) or its first-order trace (§3.3), which with "
                  "the median bandwidth the actor exploits by collapsing its particles.")
flags.DEFINE_enum("selection", "softmax", ("random", "softmax", "max"),
                  "S2AC evaluation-time particle selection (§3.6).")
flags.DEFINE_integer("episodes", 50, "Test episodes per run, with and without the obstacle.")
flags.DEFINE_integer("grid", 15, "Heat-map states per axis over [-7, 7]^2.")
flags.DEFINE_integer("seed", 0, "Base PRNG seed.")
flags.mark_flag_as_required("out")
FLAGS = flags.FLAGS


def _validated_flags():
  """Checks every flag before anything heavy is imported; returns the parsed temperatures."""
  bad = [a for a in FLAGS.algo if a not in ALGOS]
  if bad or not FLAGS.algo:
    cli.fail(f"--algo {','.join(bad) or '(empty)'} unknown; accepted: {', '.join(ALGOS)}")
  try:
    alphas = [float(a) for a in FLAGS.alphas]
  except ValueError:
    cli.fail(f"--alphas must be comma-separated numbers > 0, got {','.join(FLAGS.alphas)!r}")
  if not alphas or min(alphas) <= 0:
    cli.fail(f"--alphas must be comma-separated numbers > 0, got {','.join(FLAGS.alphas)!r}")
  for name in ("seeds", "steps", "chunk", "hidden", "batch", "particles", "episodes", "grid"):
    if getattr(FLAGS, name) < 1:
      cli.fail(f"--{name} must be >= 1, got {getattr(FLAGS, name)}")
  if FLAGS.svgd_steps < 0:
    cli.fail(f"--svgd_steps must be >= 0, got {FLAGS.svgd_steps}")
  if FLAGS.particles < 2:
    cli.fail(f"--particles must be >= 2 (SVGD), got {FLAGS.particles}")
  if FLAGS.lr <= 0:
    cli.fail(f"--lr must be > 0, got {FLAGS.lr}")
  return alphas, _bandwidth()


def _bandwidth():
  heuristics = ("median", "median_distance", "mean")
  if FLAGS.bandwidth in heuristics:
    return FLAGS.bandwidth
  try:
    value = float(FLAGS.bandwidth)
  except ValueError:
    value = 0.0
  if not value > 0:
    cli.fail(f"--bandwidth must be a number > 0 or one of {', '.join(heuristics)}, "
             f"got {FLAGS.bandwidth!r}")
  return value


def _agent_and_config(name: str, bandwidth):
  from softq.agents import s2ac, sac, sql
  hidden = (FLAGS.hidden, FLAGS.hidden)
  if name == "sac":
    return sac, cli.config_or_fail(sac.Config, critic_hidden=hidden, actor_hidden=hidden,
                                   learning_rate=FLAGS.lr, batch_size=FLAGS.batch)
  if name == "sql":
    return sql, cli.config_or_fail(sql.Config, hidden_sizes=hidden, q_learning_rate=FLAGS.lr,
                                   batch_size=FLAGS.batch, kernel_particles=FLAGS.particles)
  variant = {"s2ac": "phi_theta", "s2ac_fixed": "phi", "s2ac_amortized": "amortized"}[name]
  return s2ac, cli.config_or_fail(
      s2ac.Config, variant=variant, critic_hidden=hidden, actor_hidden=(FLAGS.hidden,) * 3,
      sampler_hidden=hidden, learning_rate=FLAGS.lr, batch_size=FLAGS.batch,
      num_particles=FLAGS.particles, num_steps=FLAGS.svgd_steps, bandwidth=bandwidth,
      log_det=FLAGS.log_det, eval_selection=FLAGS.selection)


def main(argv):
  del argv
  alphas, bandwidth = _validated_flags()
  from softq import train  # imported after the flag checks: heavy
  agents = {name: _agent_and_config(name, bandwidth) for name in FLAGS.algo}
  loop = cli.config_or_fail(
      train.LoopConfig, total_steps=FLAGS.steps, chunk_steps=FLAGS.chunk,
      warmup_steps=FLAGS.warmup, warmup_actions="uniform", exploration="none", update_every=50,
      updates_per_round=50, eval_episodes=min(FLAGS.episodes, 20))
  out = cli.writable_dir(FLAGS.out)
  results = run_experiment(agents, alphas, loop, out)
  summary = {name: {a: r["goal_fractions"] for a, r in res["by_alpha"].items()}
             for name, res in results["algos"].items()}
  print(json.dumps({"goal_fractions_by_alpha": summary}))


def run_experiment(agents: dict, alphas: list, loop, out: str) -> dict:
  """Trains and evaluates every algorithm; writes figures and results.json; returns results."""
  import dataclasses

  import jax
  import numpy as np

  from softq import envs, train
  from softq.envs import asymmetric_multigoal as amg
  from softq.logging import RunLogger

  env, env_obstacle = envs.make("asymmetric_multigoal"), envs.make("asymmetric_multigoal_obstacle")
  keys = jax.random.split(jax.random.key(FLAGS.seed), FLAGS.seeds)
  grid = np.linspace(-amg.BOUND, amg.BOUND, FLAGS.grid)
  results = {
      "command": " ".join(["python -m experiments.s2ac_multigoal"] + sys.argv[1:]),
      "alphas": alphas, "seeds": FLAGS.seeds, "goals": [list(g) for g in amg.GOALS],
      "obstacle": [list(p) for p in amg.OBSTACLE],
      "probe_states": [list(p) for p in amg.PROBE_STATES],
      "loop": dataclasses.asdict(loop), "episodes": FLAGS.episodes, "algos": {}}
  figures = {"paths": {}, "paths_obstacle": {}, "heatmap": {}}
  for name, (agent, config) in agents.items():
    algo_dir = os.path.join(out, name)
    os.makedirs(algo_dir, exist_ok=True)
    num_runs = FLAGS.seeds * len(alphas)
    logger = RunLogger(algo_dir, loop.total_steps, num_runs)
    start = time.time()
    result = train.train(
        agent, config, env, keys, loop, sweep={"alpha": alphas},
        eval_key=jax.random.key(FLAGS.seed + 1), on_chunk=logger.on_chunk)
    logger.close()
    seconds = time.time() - start
    params = result.carry.seeds.agent.params
    k_eval = jax.random.key(FLAGS.seed + 2)
    clean = _test_episodes(agent, config, env, params, k_eval, FLAGS.episodes)
    blocked = _test_episodes(agent, config, env_obstacle, params, k_eval, FLAGS.episodes)
    probe, heat = _entropies(agent, config, params, grid, jax.random.key(FLAGS.seed + 3))
    runs = []
    for r, run in enumerate(result.runs):
      runs.append({
          "alpha": run["alpha"], "seed": run["seed"],
          "goal_fractions": _fractions(clean["goal"][r]),
          "no_goal_fraction": float(np.mean(clean["goal"][r] < 0)),
          "test_return": float(np.mean(clean["returns"][r])),
          "obstacle": {
              "goal_fractions": _fractions(blocked["goal"][r]),
              "hit_fraction": float(np.mean(blocked["hit"][r])),
              "hit_then_goal_fraction": float(
                  np.mean(blocked["hit"][r] & (blocked["goal"][r] >= 0))),
          },
          "probe_entropy": None if probe is None else [float(x) for x in probe[r]],
      })
    by_alpha = {}
    for i, alpha in enumerate(alphas):
      rows = slice(i * FLAGS.seeds, (i + 1) * FLAGS.seeds)
      by_alpha[f"{alpha:g}"] = {
          "goal_fractions": _fractions(clean["goal"][rows].reshape(-1)),
          "no_goal_fraction": float(np.mean(clean["goal"][rows] < 0)),
          "obstacle_hit_then_goal_fraction": float(np.mean(
              blocked["hit"][rows] & (blocked["goal"][rows] >= 0))),
          "obstacle_hit_fraction": float(np.mean(blocked["hit"][rows])),
          "probe_entropy": None if probe is None else np.mean(probe[rows], 0).round(3).tolist(),
      }
      figures["paths"][(name, alpha)] = clean["paths"][rows]
      figures["paths_obstacle"][(name, alpha)] = blocked["paths"][rows]
      if heat is not None:
        figures["heatmap"][(name, alpha)] = np.mean(heat[rows], 0)
    results["algos"][name] = {
        "config": dataclasses.asdict(config), "wall_seconds": round(seconds, 1),
        "entropy_estimate": _entropy_note(name, config),
        "by_alpha": by_alpha, "runs": runs}
  _plot(out, results, figures, alphas, grid)
  with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f, indent=2)
  return results


def _entropy_note(name: str, config) -> str | None:
  """How the entropy in results.json was estimated for this algorithm."""
  if name == "sac":
    return "Monte Carlo -E log pi of the tanh-Gaussian (100 draws)"
  if name == "sql":
    return None
  return (f"change of variables through the SVGD steps ({config.log_det} log-det, §3.2-§3.3), "
          f"m particles")


def _fractions(goals) -> list:
  """Fraction of episodes ending at each of the three goals, from goal indices (-1 = none)."""
  import numpy as np
  return [float(np.mean(goals == g)) for g in range(3)]


def _test_episodes(agent, config, env, params, key, episodes: int) -> dict:
  """Evaluation episodes (mode "eval") of every run: numpy `goal [R, E]` (index, -1 = none),
  `hit [R, E]` (bool, obstacle touched), `returns [R, E]`, `paths [R, E, T + 1, 2]`."""
  import jax
  import jax.numpy as jnp
  import numpy as np

  def episode(p, k):
    state = env.reset(k)

    def body(carry, k_step):
      state, alive, goal, hit = carry
      nxt = env.step(state, agent.act(config, p, state.obs, k_step, "eval"))
      goal = jnp.where(alive > 0, jnp.maximum(goal, nxt.info["goal"]), goal)
      hit = hit | ((alive > 0) & (nxt.info["obstacle_hit"] > 0))
      reward = nxt.reward * alive
      nxt = jax.tree.map(lambda a, b: jnp.where(alive > 0, a, b), nxt, state)
      return (nxt, alive * (1.0 - nxt.done), goal, hit), (nxt.obs, reward)

    init = (state, jnp.ones(()), jnp.full((), -1, jnp.int32), jnp.zeros((), bool))
    (_, _, goal, hit), (obs, rewards) = jax.lax.scan(
        body, init, jax.random.split(k, env.limit))
    return {"goal": goal, "hit": hit, "returns": jnp.sum(rewards),
            "paths": jnp.concatenate([state.obs[None], obs])}

  def per_run(p, k):
    return jax.vmap(episode, in_axes=(None, 0))(p, jax.random.split(k, episodes))

  num_runs = jax.tree.leaves(params)[0].shape[0]
  out = jax.jit(jax.vmap(per_run))(params, jax.random.split(key, num_runs))
  return jax.tree.map(np.asarray, out)


def _entropies(agent, config, params, grid, key, repeats: int = 20):
  """Policy entropy at the probe states `[R, 6]` and over the plane `[R, G, G]` (`[y, x]`),
  averaged over `repeats` independent particle sets; `(None, None)` for SQL (no density)."""
  import jax
  import jax.numpy as jnp
  import numpy as np

  from softq.envs import asymmetric_multigoal as amg
  if not hasattr(agent, "entropy"):
    return None, None
  probes = jnp.asarray(amg.PROBE_STATES)
  xx, yy = np.meshgrid(grid, grid)
  plane = jnp.stack([xx, yy], -1).reshape(-1, 2)

  def per_run(p, k):
    states = jnp.concatenate([probes, plane])
    obs = jnp.broadcast_to(states, (repeats,) + states.shape)
    return jnp.mean(agent.entropy(config, p, obs, k), axis=0)

  num_runs = jax.tree.leaves(params)[0].shape[0]
  values = np.asarray(jax.jit(jax.vmap(per_run))(params, jax.random.split(key, num_runs)))
  return values[:, :len(amg.PROBE_STATES)], values[:, len(amg.PROBE_STATES):].reshape(
      num_runs, len(grid), len(grid))


def _plot(out: str, results: dict, figures: dict, alphas: list, grid) -> None:
  """Trajectory panels, entropy heat maps and goal distributions (rows = algorithms)."""
  import numpy as np

  from softq import plotting
  from softq.envs import asymmetric_multigoal as amg
  names = list(results["algos"])
  columns = [f"α = {alpha:g}" for alpha in alphas]
  seeds = f"{FLAGS.seeds} seed{'s' if FLAGS.seeds > 1 else ''}"
  for key, filename, obstacle in (("paths", "trajectories.png", None),
                                  ("paths_obstacle", "trajectories_obstacle.png", amg.OBSTACLE)):
    paths = np.stack([[figures[key][(name, alpha)].reshape(-1, amg.HORIZON + 1, 2)
                       for alpha in alphas] for name in names])
    plotting.trajectories_figure(
        os.path.join(out, filename), paths, names, columns, amg.GOALS, amg.BOUND,
        f"Test episodes ({seeds} × {FLAGS.episodes} per panel)"
        + (" with the test-time obstacle" if obstacle is not None else ""), obstacle=obstacle)

  with_heat = [n for n in names if (n, alphas[0]) in figures["heatmap"]]
  if with_heat:
    heat = np.stack([[figures["heatmap"][(name, alpha)] for alpha in alphas]
                     for name in with_heat])
    plotting.entropy_heatmaps_figure(
        os.path.join(out, "entropy_heatmap.png"), heat, grid, with_heat, columns, amg.GOALS,
        f"Policy entropy estimate over the plane (mean over {seeds})")

  outcomes = [f"G{g + 1} ({x:g}, {y:g})" for g, (x, y) in enumerate(amg.GOALS)] + ["no goal"]
  pooled = np.array([[by["goal_fractions"] + [by["no_goal_fraction"]]
                      for by in (results["algos"][n]["by_alpha"][f"{a:g}"] for a in alphas)]
                     for n in names])
  per_seed = np.array([[[r["goal_fractions"] + [r["no_goal_fraction"]]  # runs: alpha-major
                         for r in results["algos"][n]["runs"][i * FLAGS.seeds:][:FLAGS.seeds]]
                        for i in range(len(alphas))] for n in names])
  plotting.goal_distribution_figure(
      os.path.join(out, "goal_distribution.png"), pooled, names, columns, outcomes,
      f"Where test episodes end ({seeds} × {FLAGS.episodes} episodes per bar)",
      per_seed=per_seed)


if __name__ == "__main__":
  cli.run(main)
