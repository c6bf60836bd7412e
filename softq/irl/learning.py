"""Learning θ for `r = F θ` from demonstrated routes (§5.1, §5.3).

The mean log-likelihood of trips `L(θ) = mean_i log P(ζ_i | θ)` has gradient "empirical minus
expected feature counts"; trips sharing a destination share one backward pass, and (the forward
pass being linear in its start distribution) one forward pass fed with their origin counts.
Optimisers: gradient ascent (Adam steps, from optax) or exponentiated gradient on `θ = u - v`,
`u, v > 0` (EG±, Ziebart used EG), each with optional L1 / L2 penalties.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from softq.irl import inference
from softq.irl import paths

METHODS = ("gradient", "exponentiated")


@dataclasses.dataclass(frozen=True)
class FitConfig:
  """Learning settings (§5.3).

  Attributes:
    method: one of `METHODS`.
    steps: optimisation steps, >= 1.
    learning_rate: > 0.
    l1: L1 penalty weight, >= 0.
    l2: L2 penalty weight, >= 0.
    horizon: most transitions per route, >= 1 (must cover every demonstration).
    batch: destinations processed at once (memory bound), >= 1.
  """
  method: str = "exponentiated"
  steps: int = 200
  learning_rate: float = 0.05
  l1: float = 0.0
  l2: float = 0.0
  horizon: int = 80
  batch: int = 32

  def __post_init__(self):
    if self.method not in METHODS:
      raise ValueError(f"FitConfig.method must be one of {METHODS}, got {self.method!r}")
    for field in ("steps", "horizon", "batch"):
      if not isinstance(getattr(self, field), int) or getattr(self, field) < 1:
        raise ValueError(f"FitConfig.{field} must be an int >= 1, got {getattr(self, field)!r}")
    if not self.learning_rate > 0:
      raise ValueError(f"FitConfig.learning_rate must be > 0, got {self.learning_rate}")
    for field in ("l1", "l2"):
      if not getattr(self, field) >= 0:
        raise ValueError(f"FitConfig.{field} must be >= 0, got {getattr(self, field)}")


@dataclasses.dataclass(frozen=True)
class TripSet:
  """Trips grouped by destination (device arrays).

  Attributes:
    destinations: `[U]` distinct destinations.
    starts: `[U, S]` origin counts of the trips to each destination.
    empirical: `[K + Ke]` summed feature counts of all trips.
    num_trips: T.
  """
  destinations: jax.Array
  starts: jax.Array
  empirical: jax.Array
  num_trips: int


def trip_set(graph, trips) -> TripSet:
  """Groups padded trips `[T, L]` (`-1` padded) of `graph` by destination."""
  trips = np.asarray(trips)
  if trips.ndim != 2 or trips.shape[1] < 2:
    raise ValueError(f"trips must be a [T, L >= 2] int array, got shape {trips.shape}")
  lengths = (trips >= 0).sum(1)
  ends = trips[np.arange(trips.shape[0]), lengths - 1]
  destinations, inverse = np.unique(ends, return_inverse=True)
  starts = np.zeros((destinations.shape[0], graph.num_states), np.float32)
  np.add.at(starts, (inverse, trips[:, 0]), 1.0)
  src, dst = jnp.asarray(graph.src), jnp.asarray(graph.dst)
  counts = jax.vmap(lambda p: paths.path_counts(src, dst, graph.num_states, p))(
      jnp.asarray(trips))
  if np.any(np.asarray(counts[1]).sum(1) != lengths - 1):
    raise ValueError("a trip uses a transition that is not in the graph")
  empirical = jnp.concatenate([counts[0].sum(0) @ graph.state_features,
                               counts[1].sum(0) @ graph.edge_features])
  return TripSet(jnp.asarray(destinations), jnp.asarray(starts), empirical, trips.shape[0])


def objective(graph, trip_data: TripSet, theta, horizon: int, batch: int = 32):
  """Mean log-likelihood of the trips and its gradient `(f̃ − Σ_s D_s f_s) / T` (§5.1).

  Args:
    graph: `RoadGraph`.
    trip_data: `TripSet`.
    theta: `[K + Ke]`.
    horizon: static int.
    batch: destinations per vectorised chunk.
  Returns:
    `(log_likelihood scalar, gradient [K + Ke])`.
  """
  return _objective_jit(jnp.asarray(graph.src), jnp.asarray(graph.dst),
                        jnp.asarray(graph.state_features), jnp.asarray(graph.edge_features),
                        trip_data.destinations, trip_data.starts, trip_data.empirical,
                        trip_data.num_trips, jnp.asarray(theta), horizon, batch)


def fit(graph, trips, config: FitConfig, theta0=None):
  """Learns θ from padded trips `[T, L]` (§5.3).

  Args:
    graph: `RoadGraph`.
    trips: `[T, L]` padded training routes.
    config: `FitConfig`.
    theta0: optional `[K + Ke]` start (default zeros in the features' dtype).
  Returns:
    `(theta [K + Ke], log_likelihood_trace [steps])`; the trace holds the un-penalised mean
    log-likelihood at each step's starting θ.
  Raises:
    ValueError: if the optimisation diverges (non-finite values).
  """
  trip_data = trip_set(graph, trips)
  arrays = (jnp.asarray(graph.src), jnp.asarray(graph.dst), jnp.asarray(graph.state_features),
            jnp.asarray(graph.edge_features), trip_data.destinations, trip_data.starts,
            trip_data.empirical, trip_data.num_trips)
  if theta0 is None:
    theta0 = jnp.zeros(graph.num_features, jnp.result_type(arrays[2], arrays[3]))
  theta0 = jnp.asarray(theta0)
  theta, trace = _fit_jit(arrays, theta0, config)
  if not (np.all(np.isfinite(np.asarray(trace))) and np.all(np.isfinite(np.asarray(theta)))):
    raise ValueError(f"{config.method} fit diverged (non-finite log-likelihood); lower "
                     f"FitConfig.learning_rate (got {config.learning_rate})")
  return theta, trace


def objective_core(src, dst, state_features, edge_features, destinations, starts, empirical,
                   num_trips, theta, horizon: int, batch: int):
  """Jittable `objective` on raw arrays (see there)."""
  split = state_features.shape[1]
  reward, edge_reward = state_features @ theta[:split], edge_features @ theta[split:]

  def one_destination(args):
    destination, start = args
    visits, uses, log_z = inference.counts_core(src, dst, reward, edge_reward, destination,
                                                start, horizon)
    return jnp.sum(jnp.where(start > 0, start * log_z, 0.0)), visits, uses

  log_z, visits, uses = jax.lax.map(one_destination, (destinations, starts), batch_size=batch)
  expected = jnp.concatenate([visits.sum(0) @ state_features, uses.sum(0) @ edge_features])
  log_likelihood = (empirical @ theta - log_z.sum()) / num_trips
  return log_likelihood, (empirical - expected) / num_trips


@functools.partial(jax.jit, static_argnames=("horizon", "batch", "num_trips"))
def _objective_jit(src, dst, state_features, edge_features, destinations, starts, empirical,
                   num_trips, theta, horizon, batch):
  return objective_core(src, dst, state_features, edge_features, destinations, starts,
                        empirical, num_trips, theta, horizon, batch)


@functools.partial(jax.jit, static_argnames="config")
def _fit_jit(arrays, theta0, config):
  """The whole optimisation as one `lax.scan`."""
  value_and_grad = lambda th: objective_core(*arrays, th, config.horizon, config.batch)
  penalised = lambda th, g: g - config.l2 * th
  if config.method == "exponentiated":
    scale = jnp.maximum(jnp.abs(theta0), 1.0)
    state0 = (jnp.maximum(theta0, 0.0) + scale, jnp.maximum(-theta0, 0.0) + scale)

    def step(state, _):
      u, v = state
      value, grad = value_and_grad(u - v)
      g = penalised(u - v, grad)
      rate = config.learning_rate
      u, v = u * jnp.exp(rate * (g - config.l1)), v * jnp.exp(rate * (-g - config.l1))
      return (u, v), value

    (u, v), trace = jax.lax.scan(step, state0, None, length=config.steps)
    return u - v, trace
  optimizer = optax.adam(config.learning_rate)

  def step(state, _):
    theta, opt_state = state
    value, grad = value_and_grad(theta)
    updates, opt_state = optimizer.update(-penalised(theta, grad), opt_state, theta)
    theta = optax.apply_updates(theta, updates)
    shrink = config.learning_rate * config.l1
    theta = jnp.sign(theta) * jnp.maximum(jnp.abs(theta) - shrink, 0.0)
    return (theta, opt_state), value

  (theta, _), trace = jax.lax.scan(step, (theta0, optimizer.init(theta0)), None,
                                   length=config.steps)
  return theta, trace
