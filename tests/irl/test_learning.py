"""MaxEnt IRL learning and data (§5.3, §5.6): gradient vs finite differences, one exact fit step
(EG and Adam) up the likelihood, θ recovery."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import softq.irl
from softq.irl import baselines
from softq.irl import data
from softq.irl import graph as graph_lib
from softq.irl import learning

HORIZON = 12


def feature_city(seed=0, dtype=np.float32):
  """A 4x4 grid city whose segments get 3 independent random features (no edge features)."""
  city = graph_lib.grid_city(4)
  rng = np.random.default_rng(seed)
  features = rng.uniform(0.0, 1.0, (city.num_states, 3)).astype(dtype)
  return dataclasses.replace(city, state_features=features,
                             edge_features=np.zeros((city.src.shape[0], 0), dtype))


def _twelve_trips():
  """The feature city, 12 noiseless demonstrations under `θ = (-3, -1, -0.3)` and their
  `trip_set`."""
  city = feature_city(0, np.float64)
  true_theta = np.array([-3.0, -1.0, -0.3])
  trips = data.synthesize_trips(city, true_theta, 12, HORIZON, 0.0, seed=0, min_hops=3)
  return city, trips, learning.trip_set(city, trips)


def test_gradient_is_empirical_minus_expected_and_matches_finite_differences(x64):
  city, trips, trip_data = _twelve_trips()
  theta = jnp.array([-1.0, -2.0, 0.5])
  value, grad = learning.objective(city, trip_data, theta, HORIZON)
  value_only = lambda th: learning.objective(city, trip_data, th, HORIZON)[0]
  step = 1e-5
  finite = [(value_only(theta + step * e) - value_only(theta - step * e)) / (2 * step)
            for e in jnp.eye(3)]
  np.testing.assert_allclose(grad, finite, rtol=1e-7, atol=1e-8)
  np.testing.assert_allclose(grad, jax.grad(value_only)(theta), rtol=1e-10, atol=1e-12)
  assert value < 0


@pytest.mark.slow
@pytest.mark.parametrize("method,rate", [("exponentiated", 0.3), ("gradient", 0.2)])
def test_learning_recovers_feature_ranking(method, rate):
  city = feature_city(1)
  true_theta = np.array([-3.0, -1.0, -0.3], np.float32)
  trips = data.synthesize_trips(city, true_theta, 120, HORIZON, 0.0, seed=1, min_hops=3)
  config = learning.FitConfig(method=method, steps=100, learning_rate=rate, horizon=HORIZON)
  theta, trace = learning.fit(city, trips, config)
  assert np.argsort(np.asarray(theta)).tolist() == [0, 1, 2]
  assert trace[-1] > trace[0]
  assert np.all(np.asarray(theta) < 0)


def test_fit_config_rejects_bad_values():
  with pytest.raises(ValueError, match="FitConfig.method must be one of"):
    learning.FitConfig(method="newton")
  with pytest.raises(ValueError, match="FitConfig.steps must be an int >= 1"):
    learning.FitConfig(steps=0)
  with pytest.raises(ValueError, match="FitConfig.l1 must be >= 0"):
    learning.FitConfig(l1=-1.0)
  with pytest.raises(ValueError, match="^FitConfig.learning_rate must be > 0, got 0.0$"):
    learning.FitConfig(learning_rate=0.0)


def test_fit_starts_from_zeros_in_the_features_dtype_and_names_a_divergence():
  """Without `theta0` the fit starts at zeros in the features' dtype (float32 features stay
  float32 with float64 enabled, float64 ones are fitted in float64, state and edge features of
  two dtypes in the wider one); a rate that overflows θ in its last step is reported, although
  the trace (taken before each step) is still finite."""
  city, trips, _ = _twelve_trips()  # float64 features
  config = learning.FitConfig(method="gradient", steps=2, learning_rate=0.05, horizon=HORIZON)
  city32 = dataclasses.replace(city, state_features=city.state_features.astype(np.float32),
                               edge_features=city.edge_features.astype(np.float32))
  mixed = [dataclasses.replace(city, edge_features=city.edge_features.astype(np.float32)),
           dataclasses.replace(city32, edge_features=city.edge_features)]  # f64 + f32 either way
  with jax.enable_x64(True):
    for graph, dtype in ((city, jnp.float64), (city32, jnp.float32), (mixed[0], jnp.float64),
                         (mixed[1], jnp.float64)):
      theta, trace = learning.fit(graph, trips, config)
      want, want_trace = learning.fit(graph, trips, config, jnp.zeros(3, dtype))
      assert theta.dtype == dtype
      np.testing.assert_array_equal(theta, want)
      np.testing.assert_array_equal(trace, want_trace)
  huge = learning.FitConfig(steps=1, learning_rate=1e4, horizon=HORIZON)  # e^(η g) overflows
  with pytest.raises(ValueError, match=r"^exponentiated fit diverged \(non-finite "
                                       r"log-likelihood\); lower FitConfig.learning_rate \(got "
                                       r"10000.0\)$"):
    learning.fit(city32, trips, huge)


def test_sumo_network_is_real_and_strongly_connected():
  city = data.load_sumo("cologne3")
  assert city.num_states > 20 and city.src.shape[0] > city.num_states
  assert np.all(city.length_km > 0) and np.all(city.travel_time_min > 0)
  trips = data.synthesize_trips(city, data.TRUE_THETA, 4, 30, 0.1, seed=0, min_hops=2)
  lengths = (trips >= 0).sum(1)
  assert np.all(lengths >= 3)
  with pytest.raises(ValueError, match="unknown network 'atlantis'; accepted: cologne3"):
    data.load_sumo("atlantis")


def test_grid_city_size_formula():
  city = graph_lib.grid_city(5)
  assert city.num_states == 4 * 5 * 4
  # Each segment continues straight, left or right where the grid allows (no U-turns).
  assert city.src.shape[0] == int(city.edge_features.shape[0])
  assert not np.any(city.edge_features[:, 2])
  with pytest.raises(ValueError, match="side must be an int >= 2"):
    graph_lib.grid_city(1)


def test_max_margin_prefers_demonstrated_routes():
  city = feature_city(2)
  true_theta = np.array([-3.0, -1.0, -0.3], np.float32)
  trips = data.synthesize_trips(city, true_theta, 40, HORIZON, 0.0, seed=2, min_hops=3)
  theta, trace = baselines.fit_max_margin(city, trips, 60, 0.1, HORIZON, l2=0.01, margin=0.1)
  assert trace[-1] < trace[0]
  assert theta[0] < theta[2]


@pytest.mark.parametrize("method", ["exponentiated", "gradient"])
def test_one_fit_step_ascends_the_likelihood(x64, method):
  """One step of `fit` from `θ0 = (−1, −2, 0.5)` on a 4x4 grid city: exponentiated gradient gives
  exactly `θ1 = u0 e^{η g} − v0 e^{−η g}` with `u0 = max(θ0, 0) + s`, `v0 = max(−θ0, 0) + s`,
  `s = max(|θ0|, 1)` and `g` the log-likelihood gradient at `θ0`; Adam moves each coordinate by
  `η` along `sign g`. Both raise the demonstrations' log-likelihood, and the trace starts at
  `L(θ0)` (§5.3).

  Fails if the step goes down the gradient (a flipped sign) or scales it wrongly."""
  city, trips, trip_data = _twelve_trips()
  theta0 = jnp.array([-1.0, -2.0, 0.5])
  value0, grad0 = learning.objective(city, trip_data, theta0, HORIZON)
  assert np.min(np.abs(grad0)) > 1e-3
  rate = 0.05
  config = learning.FitConfig(method=method, steps=1, learning_rate=rate, horizon=HORIZON)
  theta1, trace = learning.fit(city, trips, config, theta0)
  np.testing.assert_allclose(trace, [value0], rtol=1e-12)
  if method == "exponentiated":
    scale = np.maximum(np.abs(theta0), 1.0)
    u0, v0 = np.maximum(theta0, 0.0) + scale, np.maximum(-theta0, 0.0) + scale
    want = u0 * np.exp(rate * grad0) - v0 * np.exp(-rate * grad0)
  else:
    want = theta0 + rate * np.sign(grad0)
  np.testing.assert_allclose(theta1, want, rtol=1e-6, atol=1e-9)
  value1, _ = learning.objective(city, trip_data, theta1, HORIZON)
  assert value1 > value0 + 1e-4, (value0, value1)


def test_objective_is_the_mean_log_probability_of_the_trips(x64):
  """`objective` equals `(1/T) sum_t log P(trip_t)` by `path_log_prob` (§5.1), with T = 12 trips
  padded to a different length L."""
  city, trips, trip_data = _twelve_trips()
  assert trips.shape[0] == 12 != trips.shape[1] and trip_data.num_trips == 12
  theta = np.array([-1.0, -2.0, 0.5])
  value, _ = learning.objective(city, trip_data, theta, HORIZON)
  reward = city.state_features @ theta
  each = [softq.irl.path_log_prob(city.src, city.dst, reward, trip[trip >= 0], HORIZON)
          for trip in np.asarray(trips)]
  np.testing.assert_allclose(value, np.mean(each), rtol=1e-10)


def _line_graph():
  """Segments 0 -> 1 -> 2 and a dead end 3 (reached from 1, leading nowhere)."""
  src, dst = np.array([0, 1, 1]), np.array([1, 2, 3])
  features = np.array([[1.0], [0.5], [0.2], [0.3]])
  zeros = np.zeros(4)
  return graph_lib.RoadGraph("line", src, dst, features, np.zeros((3, 0)), zeros, zeros,
                             np.zeros((4, 2)))


def test_objective_ignores_states_that_cannot_reach_the_destination(x64):
  """The dead end has log Z = -inf toward destination 2 and start weight 0: the likelihood stays
  finite and equals the one trip's log-probability."""
  graph = _line_graph()
  trips = np.array([[0, 1, 2]])
  value, grad = learning.objective(graph, learning.trip_set(graph, trips), np.array([-1.0]), 4)
  want = softq.irl.path_log_prob(graph.src, graph.dst, -graph.state_features[:, 0],
                                 np.array([0, 1, 2]), 4)
  np.testing.assert_allclose(value, want, rtol=1e-12)
  assert np.all(np.isfinite(grad))


def test_trip_set_checks_its_trips():
  graph = _line_graph()
  assert learning.trip_set(graph, np.array([[1, 2]])).num_trips == 1  # one transition is a trip
  with pytest.raises(ValueError, match=r"^trips must be a \[T, L >= 2\] int array, got shape "
                                       r"\(3,\)$"):
    learning.trip_set(graph, np.array([0, 1, 2]))
  with pytest.raises(ValueError, match=r"got shape \(2, 1\)$"):
    learning.trip_set(graph, np.array([[0], [1]]))
  with pytest.raises(ValueError, match="^a trip uses a transition that is not in the graph$"):
    learning.trip_set(graph, np.array([[0, 1, 2], [0, 2, -1]]))
