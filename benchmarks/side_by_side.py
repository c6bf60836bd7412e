"""softq's half of the peer benchmarks (`benchmarks.run`): one measurement, one JSON line.

  python -m benchmarks.side_by_side TASK '{"arg": value, ...}'

TASK is one of `TASKS`: `sac` (SAC end to end on the pure-JAX `pendulum`, seeds vmapped, with a
per-phase split into acting + environment and updates), `svgd` (`stein.svgd_sample` with the
log-density, §3.3), `flops` (XLA's FLOP count of one update per algorithm at its default, i.e.
paper, settings, scans unrolled for the count) and `peak` (this machine's float32 matmul rate).
The peers' runners (`benchmarks/peers/<name>/run.py`) follow the same protocol in their own
virtual environments.
Compile time is always reported apart from steady-state time (`block_until_ready`).
"""

import json
import sys
import time

import jax
import jax.numpy as jnp

from benchmarks import timing


def sac(warmup: int, steps: int, seeds: int = 1, phases: bool = True) -> dict:
  """SAC (256x256, batch 256, auto α, 1 update per env step) on `pendulum`, `seeds` vmapped.

  Chunks of `warmup` steps: the first is the warm-up (uniform actions, no updates) and is not
  timed; then `steps // warmup` chunks, each env step with one gradient update, are timed
  together. With `phases`, a per-phase split of one chunk: `collect` = acting + environment
  stepping + replay writes alone (a loop whose warm-up never ends), `update` = the same number
  of updates alone (sampling from the filled buffer).
  """
  from softq import envs, train
  from softq.agents import sac as sac_agent
  chunk = warmup
  env = envs.make("pendulum")
  config = sac_agent.Config(auto_alpha=True)
  loop = train.LoopConfig(total_steps=warmup + steps, chunk_steps=chunk, warmup_steps=warmup,
                          replay_capacity=warmup + steps, eval_episodes=1,
                          warmup_actions="uniform")
  program = train.build(sac_agent, config, env, loop)
  carry = program.init(jax.random.split(jax.random.key(0), seeds))
  start = time.perf_counter()
  compiled = program.chunk.lower(carry).compile()
  compile_s = time.perf_counter() - start
  carry, _ = jax.block_until_ready(compiled(carry))  # warm-up chunk
  start = time.perf_counter()
  for _ in range(steps // chunk):
    carry, metrics = compiled(carry)
  jax.block_until_ready(carry)
  train_s = time.perf_counter() - start
  timed_steps = chunk * (steps // chunk)
  result = {"seeds": seeds, "compile_s": round(compile_s, 2),
            "env_steps_per_s": round(seeds * timed_steps / train_s, 1),
            "env_steps_per_s_per_seed": round(timed_steps / train_s, 1),
            "grad_steps_per_s": round(seeds * timed_steps / train_s, 1),
            "timed_env_steps": timed_steps, "chunk_s": round(train_s * chunk / timed_steps, 3),
            "final_alpha": float(jnp.mean(carry.seeds.agent.alpha)),
            "train_return": float(jnp.nanmean(metrics["train_return"]))}
  if not phases:
    return result
  collect_loop = train.LoopConfig(total_steps=2 * chunk, chunk_steps=chunk, warmup_steps=chunk,
                                  replay_capacity=chunk, eval_episodes=1,
                                  warmup_actions="uniform")
  collect = train.build(sac_agent, config, env, collect_loop)
  collect_carry = collect.init(jax.random.split(jax.random.key(1), seeds))
  collect_fn = collect.chunk.lower(collect_carry).compile()
  collect_s, _ = timing.median_seconds(lambda c: collect_fn(c)[0], collect_carry, 2)

  run_updates = jax.jit(timing.update_scan(sac_agent, config, chunk))
  buffers, key = carry.seeds.buffer, jax.random.key(2)
  update_fn = run_updates.lower(carry.seeds.agent, buffers, key).compile()
  update_s, _ = timing.median_seconds(lambda s: update_fn(s, buffers, key), carry.seeds.agent, 2)
  return {**result, "phase_collect_s_per_chunk": round(collect_s, 3),
          "phase_update_s_per_chunk": round(update_s, 3)}


def svgd(grid: list, steps: int = 100, repeats: int = 5) -> list:
  """`svgd_sample` (median bandwidth, ε = 0.1) for each `[m, d]` of `grid`: one row each."""
  return [_svgd_one(m, d, steps, repeats) for m, d in grid]


def _svgd_one(m, d, steps, repeats):
  """`m` particles in `d` dims from N(2, I) with exact log-density toward N(0, I) (score `-u`)."""
  from softq import stein
  key = jax.random.key(0)
  start_u = 2.0 + jax.random.normal(key, (m, d))
  log_q0 = jax.scipy.stats.norm.logpdf(start_u - 2.0).sum(-1)
  sample = jax.jit(lambda u: stein.svgd_sample(lambda x: -x, u, log_q0, steps, 0.1))
  begin = time.perf_counter()
  compiled = sample.lower(start_u).compile()
  compile_s = time.perf_counter() - begin
  seconds, (u, log_q) = timing.median_seconds(compiled, start_u, repeats)
  return {"m": m, "d": d, "steps": steps, "ms": round(1e3 * seconds, 3),
          "compile_s": round(compile_s, 2), "entropy_estimate": float(-jnp.mean(log_q)),
          "mean_norm": float(jnp.linalg.norm(jnp.mean(u, 0)))}


def flops(algos: list, obs_size: int = 17, action_size: int = 6) -> list:
  """XLA's FLOP count of one `update` per algorithm at its default config (the papers' settings).

  Same sizes and config as `benchmarks.update_step`, whose timing the harness pairs with this.
  """
  return [_flops_one(algo, obs_size, action_size) for algo in algos]


def _flops_one(algo, obs_size, action_size):
  from softq import agents
  agent = agents.AGENTS[algo]
  config = agent.Config()
  return {"algo": algo, "batch_size": config.batch_size,
          "flops_per_update": timing.update_flops(agent, config, obs_size, action_size)}


def peak(sizes=(1024, 2048), repeats: int = 10) -> dict:
  """Best median float32 GFLOP/s of an `n x n` matmul over `sizes` on this machine."""
  rates = {}
  for n in sizes:
    a = jax.random.normal(jax.random.key(n), (n, n))
    seconds, _ = timing.median_seconds(jax.jit(lambda x: x @ x), a, repeats)
    rates[str(n)] = round(2 * n**3 / seconds / 1e9, 2)
  return {"matmul_gflops": max(rates.values()), "by_size": rates}


TASKS = {"sac": sac, "svgd": svgd, "flops": flops, "peak": peak}


def main(argv: list[str]) -> None:
  if len(argv) != 3 or argv[1] not in TASKS:
    print(f"error: usage: python -m benchmarks.side_by_side TASK JSON_ARGS; TASK one of "
          f"{', '.join(TASKS)}", file=sys.stderr)
    sys.exit(2)
  try:
    kwargs = json.loads(argv[2])
  except json.JSONDecodeError as e:
    print(f"error: JSON_ARGS is not JSON: {e}", file=sys.stderr)
    sys.exit(2)
  print(json.dumps(TASKS[argv[1]](**kwargs)))


if __name__ == "__main__":
  main(sys.argv)
