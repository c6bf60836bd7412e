"""The route-modelling study shared by the §5 experiments: data, the four models, Table 1.

`StudyConfig` holds every setting (validated up front, before any compilation); `prepare`
builds the network and the train / test trips; `fit_models` learns MaxEnt (gradient ascent),
action-based and max-margin weights; `route_table` evaluates all models plus the time-based
baseline and the ground-truth θ (an oracle row, for reference) on held-out routes (§5.4).
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from softq.irl import baselines
from softq.irl import data
from softq.irl import graph as graph_lib
from softq.irl import inference
from softq.irl import learning
from softq.irl import paths
from softq.irl import prediction

MODELS = ("maxent", "action_based", "max_margin", "time_based", "true_theta")
LEARNING_RATE = 0.3  # Adam, every learned model; EG (Ziebart's choice) needs <= 0.05 here and
# is still far from converged after 200 steps, see BUILD_NOTES.md


@dataclasses.dataclass(frozen=True)
class StudyConfig:
  """Settings of a route study (§5.4, §5.6).

  Attributes:
    network: one of `data.NETWORKS`, or a path to a SUMO `.net.xml` file.
    trips: number of synthetic trips, >= 10.
    test_fraction: held-out share, in (0, 1).
    noise: per-driver relative noise on θ, >= 0.
    horizon: most transitions per route, >= 2.
    steps: optimisation steps per model, >= 1.
    seed: data seed.
  """
  network: str = "ingolstadt21"
  trips: int = 400
  test_fraction: float = 0.3
  noise: float = 0.3
  horizon: int = 80
  steps: int = 200
  seed: int = 0

  def __post_init__(self):
    if self.network not in data.NETWORKS and not self.network.endswith(".net.xml"):
      raise ValueError(f"network {self.network!r} is unknown; accepted: "
                       f"{', '.join(sorted(data.NETWORKS))} or a path to a SUMO .net.xml file")
    limits = {"trips": 10, "horizon": 2, "steps": 1}
    for field, low in limits.items():
      value = getattr(self, field)
      if not isinstance(value, int) or value < low:
        raise ValueError(f"{field} must be an int >= {low}, got {value!r}")
    if not 0.0 < self.test_fraction < 1.0:
      raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")
    if not self.noise >= 0.0:
      raise ValueError(f"noise must be >= 0, got {self.noise}")


def prepare(config: StudyConfig, destinations=None):
  """Loads the network and synthesises `(graph, train, test)` padded trips (§5.6).

  Args:
    config: `StudyConfig`.
    destinations: optional `(candidates [C], probabilities [C])`: every trip then ends at a
      candidate drawn with these probabilities (the §5.5 destination study).
  """
  graph = data.load_sumo(config.network)
  trips = data.synthesize_trips(graph, data.TRUE_THETA, config.trips, config.horizon,
                                config.noise, config.seed, destinations=destinations)
  train, test = data.split(trips, config.test_fraction, config.seed)
  return graph, train, test


def fit_models(graph, train, config: StudyConfig):
  """Learned θ of MaxEnt (Adam ascent, §5.3), the action-based model and max-margin (§5.4)."""
  maxent, _ = learning.fit(graph, train, learning.FitConfig(
      method="gradient", steps=config.steps, learning_rate=LEARNING_RATE,
      horizon=config.horizon))
  action, _ = baselines.fit_action_based(graph, train, config.steps, LEARNING_RATE,
                                         config.horizon)
  margin, _ = baselines.fit_max_margin(graph, train, config.steps, LEARNING_RATE, config.horizon)
  return {"maxent": np.asarray(maxent), "action_based": np.asarray(action),
          "max_margin": np.asarray(margin), "true_theta": data.TRUE_THETA}


def route_table(graph, test, thetas, horizon: int):
  """Table 1 rows for every model of `MODELS` on held-out padded routes `[T, L]` (§5.4).

  MaxEnt and the oracle predict their most likely route; the action-based and max-margin models
  their lowest-cost route under their learned weights; time-based the fastest route.
  Log-probabilities are reported for the probabilistic models only.
  """
  arrays = (jnp.asarray(graph.src), jnp.asarray(graph.dst))
  test = jnp.asarray(test)
  origins, ends = test[:, 0], jax.vmap(paths.path_end)(test)
  table = {}
  for name in MODELS:
    if name == "time_based":
      reward, edge_reward = -graph.travel_time_min, np.zeros(graph.src.shape[0], np.float32)
    else:
      reward, edge_reward = graph_lib.rewards(graph, thetas[name])
    reward, edge_reward = jnp.asarray(reward), jnp.asarray(edge_reward)
    predicted = paths.most_likely_paths(*arrays, reward, edge_reward, origins, ends, horizon)
    log_probs = None
    if name in ("maxent", "true_theta"):
      log_probs = _maxent_log_probs(*arrays, reward, edge_reward, test, horizon)
    elif name == "action_based":
      log_probs = _action_log_probs(*arrays, reward, edge_reward, test, horizon)
    table[name] = prediction.route_metrics(
        np.asarray(predicted), np.asarray(test), graph.length_km,
        None if log_probs is None else np.asarray(log_probs))
  return table


def padded_log_prob_core(src, dst, reward, edge_reward, path, horizon: int):
  """MaxEnt log-probability of a padded route `[L]` (§5.1). Scalar."""
  edges = paths.path_transitions(src, dst, path)
  total = jnp.sum(jnp.where(path >= 0, reward[jnp.maximum(path, 0)], 0.0))
  total += jnp.sum(jnp.where(edges >= 0, edge_reward[jnp.maximum(edges, 0)], 0.0))
  log_z = inference.log_partition_core(src, dst, reward, edge_reward, paths.path_end(path),
                                       horizon)
  return total - log_z[path[0]]


_maxent_log_probs = jax.jit(jax.vmap(padded_log_prob_core, in_axes=(None, None, None, None, 0,
                                                                     None)),
                            static_argnames="horizon")
_action_log_probs = jax.jit(jax.vmap(baselines.action_path_log_prob_core,
                                     in_axes=(None, None, None, None, 0, None)),
                            static_argnames="horizon")
