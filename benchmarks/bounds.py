"""What bounds the speed targets the peer benchmark misses (`benchmarks.run`): one JSON document.

  python -m benchmarks.bounds [--sac_seeds 1,8] [--svgd_cells 100x2,200x2,200x6]

- `sac`: the matched SAC setting of `benchmarks.side_by_side.sac` (Pendulum, 256x256, batch 256,
  one update per env step, seeds vmapped) split into acting + environment and updates; XLA's FLOP
  count of one update; the GFLOP/s the updates reach; the matmul rate at the update's own shape
  (`[256, 256] @ [256, 256]`, per seed: `[S, 256, 256]` batched) and at the machine's best size;
  and `ceiling_env_steps_per_s = best matmul rate / FLOP per update`, which no loop running these
  updates can pass on this machine.
- `svgd`: `stein.svgd_sample` as the harness times it (100 steps, median bandwidth, §2.4, with the
  log-density, §3.3), the same with the bandwidth held fixed, and the median heuristic alone
  100 times, in milliseconds.
"""

import json

import jax
import jax.numpy as jnp
from absl import flags

from benchmarks import side_by_side, timing
from softq import cli

flags.DEFINE_list("sac_seeds", ["1", "8"], "Seed counts for the SAC split.")
flags.DEFINE_list("svgd_cells", ["100x2", "200x2", "200x6"], "SVGD cells as MxD.")
FLAGS = flags.FLAGS

WIDTH = 256  # the matched SAC's hidden width and batch
CHAIN = 100  # matmuls per timed program, so dispatch does not count


def matmul_gflops(seeds: int) -> float:
  """GFLOP/s of `CHAIN` chained `[B, W] @ [W, W]` products (B = W = 256), `seeds` batched."""
  shape = (WIDTH, WIDTH) if seeds == 1 else (seeds, WIDTH, WIDTH)
  x = jax.random.normal(jax.random.key(0), shape)
  w = jax.random.normal(jax.random.key(1), shape) / WIDTH
  run = jax.jit(lambda x: jax.lax.fori_loop(0, CHAIN, lambda _, y: jnp.matmul(y, w), x))
  seconds, _ = timing.median_seconds(run, x, 10)
  return round(2 * seeds * WIDTH**3 * CHAIN / seconds / 1e9, 1)


def sac_bounds(seed_counts: list[int]) -> dict:
  """The SAC split for each seed count, with FLOP count, achieved and attainable rates."""
  from softq.agents import sac
  # side_by_side.sac's config on Pendulum (observation 3, action 1).
  gflop = timing.update_flops(sac, sac.Config(auto_alpha=True), 3, 1) / 1e9
  peak = side_by_side.peak()
  rows = []
  for seeds in seed_counts:
    run = side_by_side.sac(warmup=1000, steps=1000, seeds=seeds, phases=True)
    updates = 1000 * seeds  # one chunk of 1000 env steps per seed, one update each
    rows.append({
        "seeds": seeds, "env_steps_per_s": run["env_steps_per_s"],
        "chunk_s": run["chunk_s"], "collect_s": run["phase_collect_s_per_chunk"],
        "update_s": run["phase_update_s_per_chunk"],
        "update_fraction": round(run["phase_update_s_per_chunk"] / run["chunk_s"], 3),
        "update_gflops": round(gflop * updates / run["phase_update_s_per_chunk"], 1),
        "matmul_gflops_at_update_shape": matmul_gflops(seeds)})
  return {"gflop_per_update": round(gflop, 4), "matmul_peak": peak,
          "ceiling_env_steps_per_s": round(peak["matmul_gflops"] / gflop, 1), "rows": rows}


def svgd_bounds(cells: list[tuple[int, int]], steps: int = 100) -> list:
  """Milliseconds of `steps` SVGD steps with the median, with a fixed bandwidth, and of the
  median alone `steps` times, for each `(m, d)`."""
  from softq import kernels, stein
  rows = []
  for m, d in cells:
    u = 2.0 + jax.random.normal(jax.random.key(0), (m, d))
    log_q0 = jax.scipy.stats.norm.logpdf(u - 2.0).sum(-1)
    h = kernels.median_bandwidth(u)
    median = jax.jit(lambda u: stein.svgd_sample(lambda x: -x, u, log_q0, steps, 0.1))
    fixed = jax.jit(lambda u: stein.svgd_sample(lambda x: -x, u, log_q0, steps, 0.1,
                                                bandwidth=h))
    alone = jax.jit(lambda u: jax.lax.fori_loop(
        0, steps, lambda _, x: x + 1e-9 * kernels.median_bandwidth(x), u))
    row = {"m": m, "d": d}
    for name, fn in (("svgd_ms", median), ("fixed_bandwidth_ms", fixed),
                     ("median_alone_ms", alone)):
      row[name] = round(1e3 * timing.median_seconds(fn, u, 5)[0], 3)
    rows.append(row)
  return rows


def main(argv):
  del argv
  try:
    seeds = [int(s) for s in FLAGS.sac_seeds]
    cells = [tuple(int(x) for x in c.split("x")) for c in FLAGS.svgd_cells]
    if min(seeds) < 1 or any(len(c) != 2 or min(c) < 2 for c in cells):
      raise ValueError
  except ValueError:
    cli.fail(f"--sac_seeds takes positive integers and --svgd_cells MxD with M, D >= 2, got "
             f"{','.join(FLAGS.sac_seeds)} and {','.join(FLAGS.svgd_cells)}")
  print(json.dumps({"sac": sac_bounds(seeds), "svgd": svgd_bounds(cells),
                    "device": str(jax.devices()[0])}, indent=1))


if __name__ == "__main__":
  cli.run(main)
