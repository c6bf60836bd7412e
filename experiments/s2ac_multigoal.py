"""Messaoud et al. 2024 §4.2: S2AC, SAC and SQL on the asymmetric multi-goal task across
temperatures.

  python -m experiments.s2ac_multigoal --algo s2ac,sac,sql --sweep alpha=0.2,1,3,5 --seeds 2 \
      --out runs/s2ac_multigoal

A `softq.launch` preset with several algorithms: each is trained into DIR/ALGO/ (its own
results.json, metrics.csv, tensorboard/, policy/, checkpoints/; `--resume DIR` continues all),
every (alpha, seed) pair one run of a single compiled program (an alpha sweep: the runs are a
vmapped axis, not a Python loop). Settings are §3.9's except 64-wide networks (paper: 256);
S2AC uses the median bandwidth with the exact log-det. After training, each run is evaluated on
the task without and with the test-time obstacle (§4.2). Writes DIR/results.json (per
algorithm, alpha and seed: fraction of test episodes ending at each goal, fraction hitting the
obstacle and still reaching a goal, the entropy estimate at the six probe states), and
DIR/trajectories.png / DIR/trajectories_obstacle.png (rows = algorithms, columns = alpha),
DIR/entropy_heatmap.png (the policy entropy over the plane), DIR/goal_distribution.png.
"""

import json
import os

from absl import flags

from softq import cli, launch

ALGOS = ("s2ac", "s2ac_fixed", "s2ac_amortized", "sac", "sql")
flags.DEFINE_integer("episodes", 50, "Test episodes per run, with and without the obstacle.")
flags.DEFINE_integer("grid", 15, "Heat-map states per axis over [-7, 7]^2.")
FLAGS = flags.FLAGS

HIDDEN = (64, 64)  # the paper's networks are 256 wide (§3.9)
S2AC = dict(critic_hidden=HIDDEN, actor_hidden=HIDDEN + (64,), sampler_hidden=HIDDEN,
            learning_rate=1e-3, batch_size=100, num_particles=10, num_steps=10,
            bandwidth="median", log_det="exact", eval_selection="softmax")
PRESETS = {
    "s2ac": dict(S2AC, variant="phi_theta"),
    "s2ac_fixed": dict(S2AC, variant="phi"),
    "s2ac_amortized": dict(S2AC, variant="amortized"),
    "sac": dict(critic_hidden=HIDDEN, actor_hidden=HIDDEN, learning_rate=1e-3, batch_size=100),
    "sql": dict(critic_hidden=HIDDEN, actor_hidden=HIDDEN, critic_learning_rate=1e-3,
                batch_size=100, kernel_particles=10, exploration="none"),
}


def check(algo, config, loop):
  """The test-episode flags (this app's own) and the update schedule of §3.9."""
  del algo, config
  for name in ("episodes", "grid"):
    if FLAGS[name].value < 1:
      return f"--{name} must be >= 1, got {FLAGS[name].value}"
  return None


def report(run: launch.Run) -> dict:
  """Test episodes without and with the obstacle, probe-state entropies and the entropy over
  the plane for every run; per-run and per-alpha goal fractions into results.json."""
  import jax
  import numpy as np

  from softq import envs
  from softq.envs import asymmetric_multigoal as amg

  agent, config = run.agent, run.config
  params = run.result.carry.seeds.agent.params
  k_eval = jax.random.key(run.seed + 2)
  clean = _test_episodes(agent, config, run.env, params, k_eval, FLAGS.episodes)
  blocked = _test_episodes(agent, config, envs.make("asymmetric_multigoal_obstacle"), params,
                           k_eval, FLAGS.episodes)
  grid = np.linspace(-amg.BOUND, amg.BOUND, FLAGS.grid)
  probe, heat = _entropies(agent, config, params, grid, jax.random.key(run.seed + 3))
  runs = []
  for record in run.records:
    r = record["run"]
    runs.append({
        **record,
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
  alphas = sorted({rec["alpha"] for rec in run.records}, key=[
      rec["alpha"] for rec in run.records].index)
  by_alpha = {}
  for alpha in alphas:
    rows = np.array([rec["run"] for rec in run.records if rec["alpha"] == alpha])
    by_alpha[f"{alpha:g}"] = {
        "goal_fractions": _fractions(clean["goal"][rows].reshape(-1)),
        "no_goal_fraction": float(np.mean(clean["goal"][rows] < 0)),
        "obstacle_hit_then_goal_fraction": float(np.mean(
            blocked["hit"][rows] & (blocked["goal"][rows] >= 0))),
        "obstacle_hit_fraction": float(np.mean(blocked["hit"][rows])),
        "probe_entropy": None if probe is None else np.mean(probe[rows], 0).round(3).tolist(),
    }
    run.extras[("paths", alpha)] = clean["paths"][rows]
    run.extras[("paths_obstacle", alpha)] = blocked["paths"][rows]
    if heat is not None:
      run.extras[("heatmap", alpha)] = np.mean(heat[rows], 0)
  run.extras["alphas"] = alphas
  return {"entropy_estimate": _entropy_note(run.algo, config), "episodes": FLAGS.episodes,
          "by_alpha": by_alpha, "test_runs": runs}


def combine(runs: list, out: str) -> dict:
  """The figures comparing the algorithms and the combined results.json fields."""
  from softq.envs import asymmetric_multigoal as amg
  alphas = runs[0].extras["alphas"]
  results = {
      "alphas": alphas, "seeds": FLAGS.seeds, "goals": [list(g) for g in amg.GOALS],
      "obstacle": [list(p) for p in amg.OBSTACLE],
      "probe_states": [list(p) for p in amg.PROBE_STATES], "episodes": FLAGS.episodes,
      "by_algo": {}}
  for run in runs:
    with open(os.path.join(run.out, "results.json")) as f:
      group = json.load(f)
    results["by_algo"][run.algo] = {k: group[k] for k in (
        "config", "wall_seconds", "entropy_estimate", "by_alpha", "test_runs")}
  _plot(out, results, runs, alphas)
  results["goal_fractions_by_alpha"] = {
      name: {a: r["goal_fractions"] for a, r in res["by_alpha"].items()}
      for name, res in results["by_algo"].items()}
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


def _plot(out: str, results: dict, runs: list, alphas: list) -> None:
  """Trajectory panels, entropy heat maps and goal distributions (rows = algorithms)."""
  import numpy as np

  from softq import plotting
  from softq.envs import asymmetric_multigoal as amg
  names = [run.algo for run in runs]
  grid = np.linspace(-amg.BOUND, amg.BOUND, FLAGS.grid)
  columns = [f"α = {alpha:g}" for alpha in alphas]
  seeds = f"{FLAGS.seeds} seed{'s' if FLAGS.seeds > 1 else ''}"
  for key, filename, obstacle in (("paths", "trajectories.png", None),
                                  ("paths_obstacle", "trajectories_obstacle.png", amg.OBSTACLE)):
    paths = np.stack([[run.extras[(key, alpha)].reshape(-1, amg.HORIZON + 1, 2)
                       for alpha in alphas] for run in runs])
    plotting.trajectories_figure(
        os.path.join(out, filename), paths, names, columns, amg.GOALS, amg.BOUND,
        f"Test episodes ({seeds} × {FLAGS.episodes} per panel)"
        + (" with the test-time obstacle" if obstacle is not None else ""), obstacle=obstacle)

  with_heat = [run for run in runs if ("heatmap", alphas[0]) in run.extras]
  if with_heat:
    heat = np.stack([[run.extras[("heatmap", alpha)] for alpha in alphas] for run in with_heat])
    plotting.entropy_heatmaps_figure(
        os.path.join(out, "entropy_heatmap.png"), heat, grid, [r.algo for r in with_heat],
        columns, amg.GOALS, f"Policy entropy estimate over the plane (mean over {seeds})")

  outcomes = [f"G{g + 1} ({x:g}, {y:g})" for g, (x, y) in enumerate(amg.GOALS)] + ["no goal"]
  by_algo = results["by_algo"]
  pooled = np.array([[by["goal_fractions"] + [by["no_goal_fraction"]]
                      for by in (by_algo[n]["by_alpha"][f"{a:g}"] for a in alphas)]
                     for n in names])
  per_seed = np.array([[[r["goal_fractions"] + [r["no_goal_fraction"]]
                         for r in by_algo[n]["test_runs"] if r["alpha"] == a]
                        for a in alphas] for n in names])
  plotting.goal_distribution_figure(
      os.path.join(out, "goal_distribution.png"), pooled, names, columns, outcomes,
      f"Where test episodes end ({seeds} × {FLAGS.episodes} episodes per bar)",
      per_seed=per_seed)


APP = launch.App(
    name="s2ac_multigoal", algos=ALGOS, default_algo="s2ac", env="asymmetric_multigoal",
    seeds=2, sweep="alpha=0.2,1,3,5", multi=True, presets=PRESETS,
    variants={"s2ac_fixed": "s2ac", "s2ac_amortized": "s2ac"},
    loop=dict(total_steps=10_000, chunk_steps=1000, warmup_steps=2000, warmup_actions="uniform",
              update_every=50, updates_per_round=50, eval_episodes=20),
    report=report, combine=combine, check=check, summary=("goal_fractions_by_alpha",))
launch.define(APP)

if __name__ == "__main__":
  cli.run(lambda argv: launch.main(APP))
