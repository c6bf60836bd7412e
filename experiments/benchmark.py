"""Messaoud et al. 2024 §4.3 (Figure 8, Table 1): the continuous-control benchmark (§4.6) —
SAC, S2AC, amortized S2AC, SQL and DDPG on Brax's Hopper, Walker2d, HalfCheetah, Ant and
Humanoid under one evaluation protocol, with rliable aggregates and action-selection times.

  python -m experiments.benchmark --out runs/benchmark                   # small default budget
  python -m experiments.benchmark --preset cpu --env hopper,halfcheetah --seeds 5 \\
      --out runs/benchmark_cpu
  python -m experiments.benchmark --preset paper --seeds 5 --out runs/benchmark_paper  # GPU

A multi-task, multi-algorithm `softq.launch` preset: every (task, algorithm) pair is one program
with its seeds vmapped, trained into DIR/TASK/ALGO/ (results.json, metrics.csv, tensorboard/,
policy/, checkpoints/). Per-algorithm settings are `PRESETS`, per-task ones `TASK_PRESETS`,
each citing its source; explicit flags win.

Evaluation protocol (`LOOP`): after every chunk of `--chunk` steps, `--eval_episodes` episodes
per run on one fixed set of evaluation keys (`--eval_keys fixed`, derived from `--seed` + 1,
independent of training), truncated at the task's episode limit (`--episode_length`, Brax's
1000); each run is evaluated deterministically (the agent's `"eval"` action: SAC tanh(mean),
S2AC the particle of highest Q, DDPG mu(s); SQL's policy is its sampler, so it samples) and
stochastically (the training-time policy without exploration noise), on the same episodes'
initial states. A run's score is its final deterministic evaluation return.

Writes DIR/results.json: every run's raw scores (both evaluations), the random-policy and
reference returns per task, normalised scores `(return - random) / (reference - random)`
(`--reference`, default SAC at this budget; random: uniform actions on the same evaluation
episodes), median / mean / IQM / optimality gap with 95 % stratified-bootstrap intervals,
probabilities of improvement (S2AC vs SAC, vs SQL; amortized S2AC vs SAC), performance
profiles, a per-task table and action-selection times (compile separate); and
DIR/curves.png, DIR/aggregates.png, DIR/profiles.png.

Budgets (`--preset`): the default (20 000 steps) is a smoke test; `cpu` is 50 000 steps per run;
`paper` is the paper's 10^6.
"""

import os
import statistics
import time

import numpy as np
from absl import flags

from experiments import sql_tasks
from softq import cli, launch

TASKS = ("hopper", "walker2d", "halfcheetah", "ant", "humanoid")
ALGOS = ("sac", "s2ac", "s2ac_amortized", "sql", "ddpg")
MODES = {"deterministic": "returns", "stochastic": "stochastic_returns"}
PAIRS = (("s2ac", "sac"), ("s2ac", "sql"), ("s2ac_amortized", "sac"))
TAUS = np.linspace(-0.5, 1.5, 41)  # performance-profile thresholds (normalised score)
TIMED_CALLS = 100

flags.DEFINE_string("reference", "sac", "Algorithm whose mean final return per task is "
                    "normalised score 1 (one of --algo; score 0 is a uniformly random policy).")
flags.DEFINE_integer("bootstrap", 2000, "Stratified-bootstrap resamples of the aggregates.")
FLAGS = flags.FLAGS

_S2AC = dict(num_particles=10, num_steps=3, alpha=1.0, eval_selection="max")
_SQL = sql_tasks.presets(target_update_period=1000)
PRESETS = {
    # Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications" (§3.8): 256x256,
    # batch 256, Adam 3e-4, tau 0.005 (the Config's defaults), temperature tuned toward -d.
    "sac": dict(auto_alpha=True, eval_mode="mean"),
    # Messaoud et al. 2024 App. K Table 4 and the authors' README (§3.9): m = 10 particles,
    # L = 3 SVGD steps on MuJoCo, entropy weight 1.0 (0.2 on Ant, `TASK_PRESETS`), batch 100,
    # Adam 1e-3; evaluation takes the particle of highest Q (§3.6).
    "s2ac": _S2AC,
    "s2ac_amortized": dict(_S2AC, variant="amortized"),
    # Haarnoja et al. 2017 App. D: alpha 0.1 on its locomotion tasks, 200x200, batch 64,
    # K = M = 32, 50 value particles, targets copied every 1000 steps. The paper gives no
    # per-task reward scale for these tasks (its alpha is explicit here, §2.1).
    "sql": _SQL["sql"],
    "ddpg": _SQL["ddpg"],  # the same paper's DDPG baseline settings
}
TASK_PRESETS = {"ant": {"s2ac": dict(alpha=0.2), "s2ac_amortized": dict(alpha=0.2)}}
# 10^4 uniformly random steps first and 50 updates every 50 steps (§3.9; the same one update per
# environment step as the SQL paper's per-step updates); the evaluation protocol above.
LOOP = dict(total_steps=20_000, chunk_steps=5000, warmup_steps=10_000, update_every=50,
            updates_per_round=50, eval_episodes=5, eval_keys="fixed", eval_stochastic=True)
BUDGETS = {
    "cpu": {"loop": dict(total_steps=50_000, chunk_steps=5000)},
    "paper": {"loop": dict(total_steps=1_000_000, chunk_steps=10_000)},
}


def check(algo, config, loop):
  """The reference must be trained in this run; both evaluations are part of the protocol."""
  del algo, config
  if not loop.eval_stochastic:
    return "--eval_stochastic false: the benchmark records both evaluations (drop the flag)"
  algos = [a.strip() for a in FLAGS.algo.split(",")]
  if FLAGS.reference not in algos:
    return (f"--reference {FLAGS.reference!r} must be one of the trained algorithms "
            f"(--algo: {', '.join(algos)})")
  if FLAGS.bootstrap < 1:
    return f"--bootstrap must be >= 1, got {FLAGS.bootstrap}"
  return None


def action_times(agent, config, params, obs) -> dict:
  """Action selection for one state with run 0's parameters, per mode: XLA compile time
  (lower + compile) and the median of `TIMED_CALLS` calls, in milliseconds."""
  import jax
  one = jax.tree.map(lambda x: x[0], params)
  out = {}
  for mode in ("eval", "explore"):
    fn = jax.jit(lambda p, o, k, mode=mode: agent.act(config, p, o, k, mode))
    key = jax.random.key(0)
    start = time.perf_counter()
    compiled = fn.lower(one, obs, key).compile()
    compile_ms = 1e3 * (time.perf_counter() - start)
    jax.block_until_ready(compiled(one, obs, key))
    times = []
    for i in range(TIMED_CALLS):
      k = jax.random.fold_in(key, i)
      start = time.perf_counter()
      jax.block_until_ready(compiled(one, obs, k))
      times.append(time.perf_counter() - start)
    out[mode] = {"ms": round(1e3 * statistics.median(times), 4),
                 "compile_ms": round(compile_ms, 1)}
  return out


def report(run: launch.Run) -> dict:
  """Each run's final stochastic return, the curves for `combine`, action-selection times."""
  import jax
  evaluation = run.result.evaluation
  stochastic = np.asarray(evaluation["stochastic_returns"]).mean(axis=1)
  run.extras["curves"] = (np.asarray(run.logger.steps), np.stack(run.logger.eval_returns))
  obs = run.env.reset(jax.random.key(0)).obs
  times = action_times(run.agent, run.config, run.result.carry.seeds.agent.params, obs)
  run.extras["action_times"] = times
  return {"final_stochastic_eval_returns": stochastic.tolist(), "action_times_ms": times}


def random_returns(env, num_runs: int, episodes: int, seed: int) -> float:
  """Mean return of uniformly random actions on the runs' evaluation episodes (the same keys:
  the same initial states)."""
  import jax
  from softq import evaluate
  policy = lambda obs, key: jax.random.uniform(key, (env.action_size,), minval=-1.0, maxval=1.0)
  keys = jax.random.split(jax.random.key(seed + 1), num_runs)
  out = jax.jit(jax.vmap(lambda k: evaluate.rollouts(env, policy, k, episodes, env.limit)))(keys)
  return float(np.mean(out["returns"]))


def scores_table(runs: list) -> dict:
  """`{mode: {task: {algo: [S] final returns}}}` from the runs' results.json."""
  import json
  table = {mode: {} for mode in MODES}
  for run in runs:
    with open(os.path.join(run.out, "results.json")) as f:
      group = json.load(f)
    per_run = {"deterministic": [r["final_eval_return"] for r in group["runs"]],
               "stochastic": group["final_stochastic_eval_returns"]}
    for mode, values in per_run.items():
      table[mode].setdefault(run.env_name, {})[run.algo] = values
  return table


def aggregate(raw: dict, random: dict, reference: str, reps: int) -> dict:
  """Normalised scores, aggregates, probabilities of improvement and profiles per mode."""
  from softq import aggregates
  tasks = list(random)
  algos = list(raw["deterministic"][tasks[0]])
  reference_returns = {t: float(np.mean(raw["deterministic"][t][reference])) for t in tasks}
  low = np.array([random[t] for t in tasks])
  high = np.array([reference_returns[t] for t in tasks])
  out = {"reference": reference, "reference_returns": reference_returns, "by_mode": {}}
  pairs = [(x, y) for x, y in PAIRS if x in algos and y in algos]
  for mode, by_task in raw.items():
    table = {a: np.stack([by_task[t][a] for t in tasks], axis=1) for a in algos}  # [S, T]
    try:
      scores = {a: aggregates.normalise(v, low, high) for a, v in table.items()}
    except ValueError as e:
      out["by_mode"][mode] = {"skipped": f"normalisation undefined: {e}"}
      continue
    out["by_mode"][mode] = {
        "normalised_scores": {a: s.tolist() for a, s in scores.items()},
        "aggregates": aggregates.interval_estimates(scores, reps=reps),
        "probability_of_improvement": aggregates.improvement_probabilities(scores, pairs,
                                                                           reps=reps),
        "performance_profiles": aggregates.performance_profiles(scores, TAUS, reps=reps)}
  return out


def combine(runs: list, out: str) -> dict:
  """DIR/results.json's comparison and the three figures."""
  from softq import benchmark_figures
  tasks = list(dict.fromkeys(run.env_name for run in runs))
  loop = runs[0].loop
  seeds = len(runs[0].records)
  random = {}
  for task in tasks:
    run = next(r for r in runs if r.env_name == task)
    random[task] = random_returns(run.env, seeds, loop.eval_episodes, run.seed)
  raw = scores_table(runs)
  result = aggregate(raw, random, FLAGS.reference, FLAGS.bootstrap)
  table = {task: {algo: {"mean": float(np.mean(v)), "std": float(np.std(v)),
                         "min": float(np.min(v)), "max": float(np.max(v))}
                  for algo, v in raw["deterministic"][task].items()} for task in tasks}
  steps = runs[0].extras["curves"][0]
  budget = f"{int(steps[-1])} steps per run, {seeds} seeds"
  benchmark_figures.benchmark_curves(
      os.path.join(out, "curves.png"), steps,
      {task: {r.algo: r.extras["curves"][1] for r in runs if r.env_name == task}
       for task in tasks}, f"Deterministic evaluation return, {budget}")
  deterministic = result["by_mode"]["deterministic"]
  if "aggregates" in deterministic:
    title = f"Normalised by random (0) and {FLAGS.reference.upper()} (1), {budget}"
    benchmark_figures.aggregates_figure(os.path.join(out, "aggregates.png"),
                                        deterministic["aggregates"],
                                        deterministic["probability_of_improvement"], title)
    benchmark_figures.profiles_figure(os.path.join(out, "profiles.png"), TAUS,
                                      deterministic["performance_profiles"],
                                      f"Performance profiles, {budget}")
  return {
      "tasks": tasks, "steps": int(steps[-1]), "seeds": seeds,
      "evaluation": {"every_steps": loop.chunk_steps, "episodes": loop.eval_episodes,
                     "keys": loop.eval_keys, "episode_limit": runs[0].env.limit,
                     "score": "final deterministic evaluation return"},
      "raw_scores": raw, "random_returns": random, **result, "table": table,
      "iqm": {a: v["value"] for a, v in deterministic.get("aggregates", {}).get("iqm",
                                                                               {}).items()},
      "curve_steps": steps.tolist(),
      "curves": {task: {r.algo: r.extras["curves"][1].tolist() for r in runs
                        if r.env_name == task} for task in tasks},
      "performance_profile_taus": TAUS.tolist(),
      "action_times_ms": {task: {r.algo: r.extras["action_times"] for r in runs
                                 if r.env_name == task} for task in tasks},
      "wall_seconds": {f"{r.env_name}/{r.algo}": _wall(r) for r in runs},
  }


def _wall(run) -> float:
  import json
  with open(os.path.join(run.out, "results.json")) as f:
    return json.load(f)["wall_seconds"]


APP = launch.App(
    name="benchmark", algos=ALGOS, default_algo=",".join(ALGOS), default_env=",".join(TASKS),
    seeds=5, multi=True, multi_env=True, presets=PRESETS, tasks=TASK_PRESETS,
    variants={"s2ac_amortized": "s2ac"}, loop=LOOP, budgets=BUDGETS, check=check, report=report,
    combine=combine, summary=("iqm",))
launch.define(APP)

if __name__ == "__main__":
  cli.run(lambda argv: launch.main(APP))
