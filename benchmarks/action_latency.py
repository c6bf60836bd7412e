"""Action-selection and update latency of SAC, SQL, S2AC(phi, theta) and amortized S2AC.

  python -m benchmarks.action_latency [--sizes multigoal,hopper,walker2d,halfcheetah,ant]

Messaoud et al. 2024 Table 1 analogue (§4.6): the median wall time of one action for one state (the
compiled `act`, evaluation mode) and of one gradient update (`update` on a replay batch), per
algorithm at the observation/action sizes of the multi-goal task (S2AC with m = 10, L = 10, §3.9)
and of Brax's Hopper, Walker2d, HalfCheetah and Ant (L = 3). Networks and batch sizes are each
algorithm's defaults (§2.8, §3.8, §3.9). Compile time is reported separately from the
steady-state time (`block_until_ready`, median of `--repeats`), and beside each time the work it
does: XLA's own FLOP count of the compiled program (`cost_analysis`), so a time ratio can be read
against the FLOP ratio. Prints JSON to stdout.
"""

import json
import platform
import statistics
import sys
import time

from absl import flags
from softq import cli

flags.DEFINE_list("sizes", ["multigoal", "hopper", "walker2d", "halfcheetah", "ant"],
                  "Observation/action sizes to measure.")
flags.DEFINE_integer("repeats", 50, "Timed calls per measurement (median reported).")
flags.DEFINE_integer("seed", 0, "PRNG seed.")
FLAGS = flags.FLAGS

# (observation size, action size, S2AC SVGD steps L): the multi-goal task and Brax's tasks.
SIZES = {"multigoal": (2, 2, 10), "hopper": (11, 3, 3), "walker2d": (17, 6, 3),
         "halfcheetah": (18, 6, 3), "ant": (27, 8, 3)}
ALGOS = ("sac", "sql", "s2ac", "s2ac_amortized")


def _timed(fn, *args, repeats: int) -> tuple[float, float]:
  """(first call incl. compile, median steady-state call) in milliseconds."""
  import jax
  start = time.perf_counter()
  jax.block_until_ready(fn(*args))
  first = time.perf_counter() - start
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - start)
  return 1e3 * first, 1e3 * statistics.median(times)


def _agent(name: str, num_steps: int):
  from softq.agents import s2ac, sac, sql
  if name == "sac":
    return sac, sac.Config()
  if name == "sql":
    return sql, sql.Config()
  variant = "amortized" if name == "s2ac_amortized" else "phi_theta"
  return s2ac, s2ac.Config(variant=variant, num_steps=num_steps)


def measure(name: str, obs_size: int, action_size: int, num_steps: int, repeats: int,
            key) -> dict:
  """Action and update latency of one algorithm at one size."""
  import jax
  import jax.numpy as jnp

  from benchmarks import timing
  from softq.replay import Transition
  agent, config = _agent(name, num_steps)
  k_init, k_obs, k_act, k_batch = jax.random.split(key, 4)
  state = agent.init(config, k_init, obs_size, action_size)
  obs = jax.random.normal(k_obs, (obs_size,))
  act_fn = lambda p, o, k: agent.act(config, p, o, k, "eval")
  act = jax.jit(act_fn)
  act_first, act_ms = _timed(act, state.params, obs, k_act, repeats=repeats)
  b = config.batch_size
  ks = jax.random.split(k_batch, 4)
  batch = Transition(
      obs=jax.random.normal(ks[0], (b, obs_size)),
      action=jnp.tanh(jax.random.normal(ks[1], (b, action_size))),
      reward=jax.random.normal(ks[2], (b,)), next_obs=jax.random.normal(ks[3], (b, obs_size)),
      terminal=jnp.zeros(b), truncated=jnp.zeros(b))
  # The whole new state is returned: returning only the metrics would let XLA drop the backward
  # pass and the optimizer step.
  update_fn = lambda s, bt: agent.update(config, s, bt)
  update = jax.jit(update_fn)
  update_first, update_ms = _timed(update, state, batch, repeats=max(repeats // 5, 5))
  return {"algo": name, "action_ms": round(act_ms, 4), "action_compile_ms": round(act_first, 1),
          "action_mflop": round(timing.flops(act_fn, state.params, obs, k_act) / 1e6, 3),
          "update_ms": round(update_ms, 3), "update_compile_ms": round(update_first, 1),
          "update_mflop": round(timing.flops(update_fn, state, batch) / 1e6, 3),
          "batch_size": b}


def main(argv):
  del argv
  bad = [s for s in FLAGS.sizes if s not in SIZES]
  if bad or FLAGS.repeats < 1:
    print(f"error: --sizes accepts {', '.join(SIZES)} and --repeats must be >= 1; got "
          f"{','.join(bad) or FLAGS.repeats}", file=sys.stderr)
    sys.exit(2)
  import jax
  results = {"device": f"{jax.devices()[0].device_kind} ({platform.processor() or 'cpu'})",
             "jax": jax.__version__, "repeats": FLAGS.repeats, "sizes": {}}
  key = jax.random.key(FLAGS.seed)
  for size in FLAGS.sizes:
    obs_size, action_size, num_steps = SIZES[size]
    rows = [measure(name, obs_size, action_size, num_steps, FLAGS.repeats,
                    jax.random.fold_in(key, i)) for i, name in enumerate(ALGOS)]
    sac_row = rows[0]
    for row in rows:
      row["action_vs_sac"] = round(row["action_ms"] / sac_row["action_ms"], 2)
      row["update_vs_sac"] = round(row["update_ms"] / sac_row["update_ms"], 2)
      row["action_mflop_vs_sac"] = round(row["action_mflop"] / sac_row["action_mflop"], 1)
      row["update_mflop_vs_sac"] = round(row["update_mflop"] / sac_row["update_mflop"], 1)
    results["sizes"][size] = {"obs_size": obs_size, "action_size": action_size,
                              "s2ac_svgd_steps": num_steps, "s2ac_particles": 10, "rows": rows}
    print(f"{size}: done", file=sys.stderr, flush=True)
  print(json.dumps(results, indent=2))


if __name__ == "__main__":
  cli.run(main)
