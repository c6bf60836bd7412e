"""MaxEnt IRL scaling (§5.2): seconds per likelihood-gradient evaluation vs graph size.

    python -m benchmarks.irl_scaling [--sides 17,50,158,275] [--peer_sides 12,17]

Grid cities of `4 side (side - 1)` segments (1 088 ... 301 400 states, ~3 transitions each); one
gradient evaluation = `learning.objective` for 4 trips to one destination (backward pass, forward
pass, expected minus empirical features). Compile time is reported apart from the steady-state
median of `--repeats` runs (`block_until_ready`); memory is XLA's compiled temporary + argument
size, and the process's peak resident memory so far (sizes run in ascending order, so it is each
size's own peak). The `irl-maxent` package (numpy, dense `S x S x A` transitions, `2 S` backward
iterations) runs in its own venv `.venv-peers/irl-maxent` on the sizes it can hold; ours is timed
there both at its iteration count (`horizon = 2 S`, equal work) and at the benchmark horizon.
Whether irl-maxent's visitation frequencies came out finite is reported: its linear-space backward
pass sums paths of exactly `2 S` steps, so with road costs `Z` underflows to 0 and the policy is
0/0 (its forward loop then stops at once, so its time is a lower bound). Prints JSON on stdout.
"""

import json
import os
import resource
import subprocess
import tempfile
import time

from absl import flags

from softq import cli

FLAGS = flags.FLAGS
flags.DEFINE_list("sides", ["17", "50", "158", "275"], "grid sides (segments = 4 s (s - 1))")
flags.DEFINE_list("peer_sides", ["12", "17"], "grid sides also run with irl-maxent")
flags.DEFINE_integer("horizon", 200, "most transitions per route, >= 2")
flags.DEFINE_integer("repeats", 3, "timed repeats of ours (median), >= 1")
flags.DEFINE_integer("peer_repeats", 1, "timed repeats of irl-maxent (median), >= 1")
flags.DEFINE_string("peer_python", ".venv-peers/irl-maxent/bin/python",
                    "python of the venv holding irl-maxent")

PEER_SCRIPT = r"""
import json, sys, time
import numpy as np
from irl_maxent import maxent
z = np.load(sys.argv[1])
S, src, dst, turn = int(z["num_states"]), z["src"], z["dst"], z["turn"]
p = np.zeros((S, S, 3))
p[src, dst, turn] = 1.0
reward, start = z["reward"].astype(float), z["start"].astype(float)
times = []
for _ in range(int(sys.argv[2])):
  t = time.perf_counter()
  svf = maxent.compute_expected_svf(p, start / start.sum(), [int(z["destination"])], reward)
  grad = z["empirical"] - z["features"].T @ (svf * start.sum())
  times.append(time.perf_counter() - t)
print(json.dumps({"seconds": float(np.median(times)), "bytes_transitions": p.nbytes,
                  "finite": bool(np.all(np.isfinite(svf)))}))
"""


def main(argv):
  del argv
  try:
    sides = [int(s) for s in FLAGS.sides]
    peer_sides = [int(s) for s in FLAGS.peer_sides]
  except ValueError:
    cli.fail(f"--sides / --peer_sides must be comma-separated integers, got {FLAGS.sides} / "
          f"{FLAGS.peer_sides}")
  if min(sides + peer_sides + [FLAGS.horizon, FLAGS.repeats + 1, FLAGS.peer_repeats + 1]) < 2:
    cli.fail("--sides and --peer_sides entries must be >= 2, --horizon >= 2, --repeats and "
          "--peer_repeats >= 1")
  if peer_sides and not os.path.exists(FLAGS.peer_python):
    cli.fail(f"--peer_python {FLAGS.peer_python!r} does not exist; create it with "
          "python3 -m venv .venv-peers/irl-maxent && .venv-peers/irl-maxent/bin/pip install "
          "-r benchmarks/peers/irl-maxent/requirements.txt (or pass --peer_sides '')")
  import jax
  rows = []
  for side in sorted(sides):  # ascending, so each row's process peak is its own
    rows.append(gradient(side, FLAGS.horizon, FLAGS.repeats))
  peers = [_versus_peer(side, FLAGS.repeats) for side in peer_sides]
  print(json.dumps({"device": jax.devices()[0].device_kind, "cpu_count": os.cpu_count(),
                    "horizon": FLAGS.horizon, "ours": rows, "versus_irl_maxent": peers},
                   indent=2))


def _problem(side, horizon):
  """Grid city, the trips' arrays and the objective's jitted function."""
  import jax.numpy as jnp
  import numpy as np
  from softq.irl import data, graph as graph_lib, learning
  city = graph_lib.grid_city(side)
  destination = city.num_states // 2
  rng = np.random.default_rng(side)
  origins = _origins_within(city, destination, horizon, rng)
  trips = learning.TripSet(jnp.asarray([destination]),
                           jnp.zeros((1, city.num_states)).at[0, origins].add(1.0),
                           jnp.zeros(city.num_features), len(origins))
  theta = jnp.asarray(data.TRUE_THETA)
  return city, trips, theta, destination, origins


def gradient(side: int, horizon: int, repeats: int) -> dict:
  """Compile and steady-state seconds of one likelihood-gradient evaluation on `grid_city(side)`,
  XLA memory and the process peak."""
  import jax
  import jax.numpy as jnp
  import numpy as np
  from softq.irl import learning
  city, trips, theta, _, _ = _problem(side, horizon)
  args = (jnp.asarray(city.src), jnp.asarray(city.dst), jnp.asarray(city.state_features),
          jnp.asarray(city.edge_features), trips.destinations, trips.starts, trips.empirical,
          trips.num_trips, theta)
  start = time.perf_counter()
  compiled = jax.jit(learning.objective_core, static_argnums=(7, 9, 10)).lower(
      *args, horizon, 1).compile()
  jax.block_until_ready(compiled(*args[:7], theta))
  compile_seconds = time.perf_counter() - start
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(compiled(*args[:7], theta))
    times.append(time.perf_counter() - start)
  memory = compiled.memory_analysis()
  return {"side": side, "states": city.num_states, "transitions": int(city.src.shape[0]),
          "horizon": horizon, "compile_plus_first_s": compile_seconds,
          "seconds_per_gradient": float(np.median(times)),
          "xla_temp_bytes": int(memory.temp_size_in_bytes),
          "xla_argument_bytes": int(memory.argument_size_in_bytes),
          "process_peak_rss_bytes": 1024 * resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def _versus_peer(side, repeats):
  """irl-maxent and ours on the same grid city; equal-work and benchmark-horizon timings."""
  import numpy as np
  from softq.irl import graph as graph_lib
  city = graph_lib.grid_city(side)
  equal_work = 2 * city.num_states  # irl-maxent's fixed number of backward iterations
  ours = gradient(side, equal_work, repeats)
  _, trips, theta, destination, _ = _problem(side, equal_work)
  reward, _ = graph_lib.rewards(city, np.asarray(theta))
  turn = city.edge_features @ np.array([1, 2, 3])  # action: straight 0, left 1, right 2
  with tempfile.TemporaryDirectory() as folder:
    problem = os.path.join(folder, "problem.npz")
    np.savez(problem, num_states=city.num_states, src=city.src, dst=city.dst,
             turn=turn.astype(int), reward=reward, start=np.asarray(trips.starts[0]),
             destination=destination, empirical=np.zeros(city.state_features.shape[1]),
             features=city.state_features)
    command = [FLAGS.peer_python, "-c", PEER_SCRIPT, problem, str(FLAGS.peer_repeats)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    peer = json.loads(done.stdout)
  benchmark = gradient(side, FLAGS.horizon, repeats)
  return {"side": side, "states": city.num_states, "peer_backward_iterations": equal_work,
          "irl_maxent_seconds": peer["seconds"],
          "irl_maxent_transition_bytes": peer["bytes_transitions"],
          "ours_equal_work_seconds": ours["seconds_per_gradient"],
          "speedup_equal_work": peer["seconds"] / ours["seconds_per_gradient"],
          "ours_benchmark_horizon_seconds": benchmark["seconds_per_gradient"],
          "speedup_benchmark_horizon": peer["seconds"] / benchmark["seconds_per_gradient"],
          "irl_maxent_result_finite": peer["finite"]}


def _origins_within(city, destination, horizon, rng, count=4):
  """`count` origins between `horizon // 4` and `horizon // 2` transitions from the destination."""
  import numpy as np
  import scipy.sparse
  import scipy.sparse.csgraph
  adjacency = scipy.sparse.csr_matrix((np.ones(city.src.shape[0]), (city.src, city.dst)),
                                      shape=(city.num_states,) * 2)
  hops = scipy.sparse.csgraph.shortest_path(adjacency.T, unweighted=True, indices=destination)
  reachable = np.flatnonzero((hops >= 1) & (hops <= horizon // 2))
  far = reachable[hops[reachable] >= horizon // 4]
  pool = far if far.size >= count else reachable
  return rng.choice(pool, count, replace=False)


if __name__ == "__main__":
  cli.run(main)
