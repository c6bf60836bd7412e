"""Real road topologies from `sumo-rl`'s bundled SUMO networks, and synthetic trips (§5.6).

The `.net.xml` files ship inside the `sumo-rl` wheel; they are read with the standard library's
XML parser (no SUMO binary, no download, the package is located without importing it). Only the
largest strongly connected part of the drivable network is kept, so every segment can reach
every other. Demonstrations come from a hidden ground-truth θ: each driver samples a route from
the MaxEnt distribution of a noisy copy of θ (per-trip multiplicative noise on every weight).
"""

import functools
import importlib.util
import pathlib
import xml.etree.ElementTree as ElementTree

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

from softq.irl import graph as graph_lib
from softq.irl import inference
from softq.irl import paths

NETWORKS = {
    "ingolstadt21": "RESCO/ingolstadt21/ingolstadt21.net.xml",
    "ingolstadt7": "RESCO/ingolstadt7/ingolstadt7.net.xml",
    "cologne8": "RESCO/cologne8/cologne8.net.xml",
    "cologne3": "RESCO/cologne3/cologne3.net.xml",
}

# Ground truth (§5.6): minutes, km per road class, multi-lane, constant, left, right, U-turn.
TRUE_THETA = np.array([-4.0, -1.0, -2.0, -3.0, -4.0, -6.0, 0.5, -1.0, -1.0, -0.4, -4.0],
                      np.float32)

_CLASS_OF_TYPE = {
    "motorway": 0, "motorway_link": 0, "trunk": 0, "trunk_link": 0,
    "primary": 1, "primary_link": 1,
    "secondary": 2, "secondary_link": 2,
    "tertiary": 3, "tertiary_link": 3,
}
_TURN_OF_DIR = {"s": 0, "l": 1, "L": 1, "r": 2, "R": 2, "t": 3}


def network_path(name: str) -> pathlib.Path:
  """The `.net.xml` of a network: a bundled name (one of `NETWORKS`) or a path to a SUMO
  `.net.xml` file; readable errors otherwise."""
  if name.endswith(".net.xml"):
    path = pathlib.Path(name)
    if not path.is_file():
      raise ValueError(f"network file {name!r} does not exist")
    return path
  if name not in NETWORKS:
    raise ValueError(f"unknown network {name!r}; accepted: {', '.join(sorted(NETWORKS))} or a "
                     "path to a SUMO .net.xml file")
  spec = importlib.util.find_spec("sumo_rl")
  if spec is None or not spec.submodule_search_locations:
    raise ValueError("the sumo-rl package is not installed (pip install sumo-rl); it provides "
                     "the road networks")
  path = pathlib.Path(spec.submodule_search_locations[0]) / "nets" / NETWORKS[name]
  if not path.is_file():
    raise ValueError(f"network file {path} is missing from the installed sumo-rl package")
  return path


@functools.lru_cache(maxsize=4)
def load_sumo(name: str) -> graph_lib.RoadGraph:
  """Parses a SUMO network (see `network_path`) into a `RoadGraph` (largest strongly connected
  part).

  Segments are SUMO's normal (non-internal) edges open to passenger cars; transitions are their
  lane connections (merged per edge pair, first turn direction kept). A file that is not a
  readable SUMO network raises `ValueError("corrupt: PATH ...")`.
  """
  path = network_path(name)
  try:
    return _parse_sumo(name, ElementTree.parse(path).getroot())
  except (ElementTree.ParseError, KeyError, TypeError, ValueError, IndexError) as e:
    raise ValueError(f"corrupt: {path} is not a readable SUMO network "
                     f"({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})"
                     ) from None


def _parse_sumo(name: str, root) -> graph_lib.RoadGraph:
  if root.tag != "net":
    raise ValueError(f"root element is <{root.tag}>, not <net>")
  junctions = {j.get("id"): (float(j.get("x")), float(j.get("y"))) for j in root.iter("junction")}
  ids, length, speed, lanes, road_class, xy = [], [], [], [], [], []
  for edge in root.iter("edge"):
    lane_elems = edge.findall("lane")
    if edge.get("function") or not any(_passenger(lane) for lane in lane_elems):
      continue
    ids.append(edge.get("id"))
    length.append(float(lane_elems[0].get("length")) / 1000.0)
    speed.append(max(float(lane.get("speed")) for lane in lane_elems) * 3.6)
    lanes.append(sum(_passenger(lane) for lane in lane_elems))
    road_class.append(_CLASS_OF_TYPE.get(edge.get("type", "").split(".")[-1], 4))
    a, b = junctions[edge.get("from")], junctions[edge.get("to")]
    xy.append(((a[0] + b[0]) / 2, (a[1] + b[1]) / 2))
  index = {edge_id: i for i, edge_id in enumerate(ids)}
  moves = {}
  for conn in root.iter("connection"):
    a, b = index.get(conn.get("from")), index.get(conn.get("to"))
    if a is not None and b is not None and a != b:
      moves.setdefault((a, b), _TURN_OF_DIR.get(conn.get("dir"), 0))
  pairs = np.array(list(moves.keys()), np.int64).reshape(-1, 2)
  turn = np.array(list(moves.values()), np.int64)
  keep = _largest_strong_component(len(ids), pairs)
  renumber = np.full(len(ids), -1)
  renumber[keep] = np.arange(keep.shape[0])
  inside = (renumber[pairs[:, 0]] >= 0) & (renumber[pairs[:, 1]] >= 0)
  return graph_lib.build(
      name, np.array(length)[keep], np.array(speed)[keep], np.array(lanes)[keep],
      np.array(road_class)[keep], renumber[pairs[inside, 0]], renumber[pairs[inside, 1]],
      turn[inside], np.array(xy)[keep])


def synthesize_trips(graph, theta, num_trips: int, horizon: int, noise: float, seed: int,
                     min_hops: int = 5, destinations=None):
  """Noisy MaxEnt demonstrations: `num_trips` padded paths `[T, horizon + 1]` (§5.6).

  Destinations are uniform over states (or drawn from `destinations = (candidates [C],
  probabilities [C])`); origins are uniform over the states between `min_hops` and
  `horizon // 2` transitions away from them. Each trip's driver uses `θ ⊙ (1 + noise ε)`,
  `ε ~ N(0, I)`.
  """
  rng = np.random.default_rng(seed)
  src, dst = jnp.asarray(graph.src), jnp.asarray(graph.dst)
  origins, destinations = _od_pairs(graph, num_trips, horizon, min_hops, rng, destinations)
  thetas = theta[None] * (1.0 + noise * rng.standard_normal((num_trips, theta.shape[0])))
  keys = jax.random.split(jax.random.PRNGKey(seed), num_trips)
  return np.asarray(_sample_noisy(keys, src, dst, jnp.asarray(graph.state_features),
                                  jnp.asarray(graph.edge_features), jnp.asarray(thetas),
                                  jnp.asarray(origins), jnp.asarray(destinations), horizon))


def split(trips, test_fraction: float, seed: int):
  """Random train / test split of trips `[T, L]` → `(train, test)`."""
  order = np.random.default_rng(seed).permutation(trips.shape[0])
  num_test = max(1, int(round(test_fraction * trips.shape[0])))
  return trips[order[num_test:]], trips[order[:num_test]]


def _sample_one(key, src, dst, state_features, edge_features, theta, origin, destination,
                horizon):
  """One MaxEnt route for one driver's θ."""
  split_at = state_features.shape[1]
  reward, edge_reward = state_features @ theta[:split_at], edge_features @ theta[split_at:]
  history = inference.history_core(src, dst, reward, edge_reward, destination, horizon)
  policy = inference.policy_core(src, dst, reward, edge_reward, history, destination)
  return paths.sample_path_core(key, src, dst, policy, origin, destination)


_sample_noisy = jax.jit(jax.vmap(_sample_one, in_axes=(0, None, None, None, None, 0, 0, 0, None)),
                        static_argnames="horizon")


def _od_pairs(graph, num_trips, horizon, min_hops, rng, choices):
  """Random origin / destination pairs with hop distance in `[min_hops, horizon // 2]`."""
  adjacency = scipy.sparse.csr_matrix(
      (np.ones(graph.src.shape[0]), (graph.src, graph.dst)), shape=(graph.num_states,) * 2)
  origins, destinations = [], []
  while len(origins) < num_trips:
    if choices is None:
      destination = int(rng.integers(graph.num_states))
    else:
      destination = int(rng.choice(choices[0], p=choices[1]))
    # Hop distance o -> destination, by a breadth-first search on the reversed graph.
    hops = scipy.sparse.csgraph.shortest_path(adjacency.T, unweighted=True, indices=destination,
                                              directed=True)
    candidates = np.flatnonzero((hops >= min_hops) & (hops <= horizon // 2))
    if candidates.size:
      take = min(candidates.size, 4, num_trips - len(origins))
      origins.extend(rng.choice(candidates, take, replace=False).tolist())
      destinations.extend([destination] * take)
  return np.array(origins), np.array(destinations)


def _passenger(lane) -> bool:
  """Whether a SUMO lane is open to passenger cars."""
  allow, disallow = lane.get("allow"), lane.get("disallow", "")
  if allow is not None:
    return "passenger" in allow.split() or "all" in allow.split()
  return "passenger" not in disallow.split() and "all" not in disallow.split()


def _largest_strong_component(num_states, pairs):
  """Indices of the states in the largest strongly connected component."""
  adjacency = scipy.sparse.csr_matrix(
      (np.ones(pairs.shape[0]), (pairs[:, 0], pairs[:, 1])), shape=(num_states, num_states))
  _, labels = scipy.sparse.csgraph.connected_components(adjacency, directed=True,
                                                        connection="strong")
  return np.flatnonzero(labels == np.bincount(labels).argmax())
