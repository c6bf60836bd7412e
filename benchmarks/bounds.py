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
- `critic_score`: the score S2AC's SVGD steps evaluate (`∇_a min_k Q_k(s, a)`, §3.1) at its
  MuJoCo sizes (100 states x 10 particles, observation 17, action 6, 256x256 twin critics) in
  three layouts that compute the same function: the twin module as written; both heads as one
  batched computation (parameters stacked, `vmap`); and the batched heads with the first layer
  split so that its state part is computed once per state, not per particle. ms per score,
  XLA's FLOP count, the GFLOP/s reached, and the largest difference from the first layout.
- `sql_split`: SQL's update at the paper's settings (obs 17 / act 6) in its parts: the critic's
  loss gradient, the sampler's, and the median bandwidth of its `[64, 32, 6]` particles alone;
  ms and XLA's FLOP count each, beside the whole update.
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


def critic_score_bounds(states: int = 100, particles: int = 10, obs_size: int = 17,
                        action_size: int = 6, hidden: int = 256) -> dict:
  """Milliseconds, FLOPs and GFLOP/s of the twin-critic action score in three layouts."""
  from softq import networks
  twin = networks.TwinQNetwork((hidden, hidden))
  obs = jax.random.normal(jax.random.key(0), (states, obs_size))
  actions = jax.random.normal(jax.random.key(1), (states, particles, action_size))
  obs_m = jnp.broadcast_to(obs[:, None], (states, particles, obs_size))
  params = twin.init(jax.random.key(2), obs_m, actions)
  heads = jax.tree.map(lambda a, b: jnp.stack([a, b]), params["params"]["QNetwork_0"],
                       params["params"]["QNetwork_1"])["MLP_0"]
  layers = [heads[f"Dense_{i}"] for i in range(3)]

  def batched_heads(a):  # [2, B, m] from stacked kernels, the first layer on [s, a]
    x = jnp.concatenate([obs_m, a], -1)
    for i, layer in enumerate(layers):
      x = jnp.einsum("...bmk,...kj->...bmj", x, layer["kernel"]) + layer["bias"][:, None, None]
      x = jax.nn.relu(x) if i < 2 else x[..., 0]
    return x

  def split_first_layer(a):  # the state part of layer 1 once per state
    kernel, bias = layers[0]["kernel"], layers[0]["bias"]
    state_part = jnp.einsum("bo,hok->hbk", obs, kernel[:, :obs_size]) + bias[:, None]
    x = jax.nn.relu(state_part[:, :, None] + jnp.einsum("bmd,hdk->hbmk", a,
                                                        kernel[:, obs_size:]))
    x = jax.nn.relu(jnp.einsum("hbmk,hkj->hbmj", x, layers[1]["kernel"])
                    + layers[1]["bias"][:, None, None])
    return (jnp.einsum("hbmk,hkj->hbmj", x, layers[2]["kernel"])
            + layers[2]["bias"][:, None, None])[..., 0]

  layouts = {"twin_module": lambda a: twin.apply(params, obs_m, a),
             "batched_heads": batched_heads, "split_first_layer": split_first_layer}
  rows, reference = [], None
  for name, q in layouts.items():
    score = lambda a, q=q: jax.grad(lambda x: jnp.sum(jnp.min(q(x), axis=0)))(a)
    chained = jax.jit(lambda a, score=score: jax.lax.fori_loop(
        0, CHAIN, lambda _, x: x + 1e-6 * score(x), a))
    seconds, _ = timing.median_seconds(chained, actions, 9)
    value = jax.jit(score)(actions)
    reference = value if reference is None else reference
    flop = timing.flops(score, actions)
    rows.append({"layout": name, "ms_per_score": round(1e3 * seconds / CHAIN, 4),
                 "flop_per_score": int(flop),
                 "gflops": round(flop * CHAIN / seconds / 1e9, 1),
                 "max_abs_difference": float(jnp.max(jnp.abs(value - reference)))})
  return {"states": states, "particles": particles, "hidden": hidden, "rows": rows}


def sql_split(obs_size: int = 17, action_size: int = 6, repeats: int = 7) -> dict:
  """ms per call and XLA FLOPs of SQL's update and of its parts (`CHAIN` calls per program)."""
  from softq import kernels
  from softq.agents import sql
  from softq.replay import Transition
  config = sql.Config()
  b, o, d = config.batch_size, obs_size, action_size
  keys = jax.random.split(jax.random.key(0), 5)
  batch = Transition(obs=jax.random.normal(keys[0], (b, o)),
                     action=jax.random.uniform(keys[1], (b, d), minval=-1, maxval=1),
                     reward=jax.random.normal(keys[2], (b,)),
                     next_obs=jax.random.normal(keys[3], (b, o)),
                     terminal=jnp.zeros(b), truncated=jnp.zeros(b))
  state = sql.init(config, jax.random.key(1), o, d)
  p, alpha = state.params, state.alpha
  particles = jax.random.normal(keys[4], (b, config.kernel_particles, d))
  parts = {
      "update": lambda k: sql.update(config, state.replace(key=k), batch)[0].params,
      "critic_gradient": lambda k: jax.grad(sql.critic_loss, argnums=1, has_aux=True)(
          config, p.critic, state.target_critic, alpha, batch, k)[0],
      "sampler_gradient": lambda k: jax.grad(sql.actor_loss, argnums=1, has_aux=True)(
          config, p.actor, p.critic, alpha, batch.obs, k)[0],
      "bandwidth": lambda k: kernels.bandwidth(
          particles + jax.random.normal(k, ()), config.bandwidth),
  }
  rows = []
  for name, part in parts.items():
    def chained(key, part=part):
      def body(_, carry):
        key, total = carry
        key, sub = jax.random.split(key)
        leaves = jax.tree.leaves(part(sub))
        return key, total + sum(jnp.sum(leaf) for leaf in leaves)
      return jax.lax.fori_loop(0, CHAIN, body, (key, 0.0))[1]
    seconds, _ = timing.median_seconds(jax.jit(chained), jax.random.key(2), repeats)
    rows.append({"part": name, "ms": round(1e3 * seconds / CHAIN, 3),
                 "flop": int(timing.flops(part, jax.random.key(2)))})
  return {"batch_size": b, "kernel_particles": config.kernel_particles,
          "value_particles": config.value_particles, "rows": rows}


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
                    "critic_score": critic_score_bounds(), "sql_split": sql_split(),
                    "matmul_peak": side_by_side.peak(),
                    "device": str(jax.devices()[0])}, indent=1))


if __name__ == "__main__":
  cli.run(main)
