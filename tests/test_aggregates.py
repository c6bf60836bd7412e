"""The rliable aggregates of `softq.aggregates` against direct computations on small synthetic
score tables (IQM = mean of the middle 50 % of all runs, probability of improvement by
enumerating every pair of runs, ...), and the stratification of the bootstrap."""

import numpy as np
import pytest

from softq import aggregates

RUNS, TASKS = 8, 3


@pytest.fixture(scope="module")
def scores():
  rng = np.random.default_rng(0)
  return {"a": rng.normal(1.0, 0.5, (RUNS, TASKS)), "b": rng.normal(0.7, 0.5, (RUNS, TASKS))}


def test_normalise_maps_the_references_to_zero_and_one():
  low, high = np.array([-10.0, 0.0]), np.array([90.0, 4.0])
  out = aggregates.normalise(np.stack([low, high, (low + high) / 2]), low, high)
  np.testing.assert_allclose(out, [[0, 0], [1, 1], [0.5, 0.5]])
  with pytest.raises(ValueError, match=r"\[1\]"):
    aggregates.normalise(np.zeros((2, 2)), [0.0, 1.0], [1.0, 1.0])


def test_point_estimates_equal_direct_computation(scores):
  out = aggregates.interval_estimates(scores, reps=200)
  for algo, table in scores.items():
    task_means = table.mean(axis=0)
    middle = np.sort(table.ravel())[RUNS * TASKS // 4: 3 * RUNS * TASKS // 4]  # 6 of 24 cut
    direct = {"median": np.median(task_means), "mean": task_means.mean(),
              "iqm": middle.mean(), "optimality_gap": np.mean(1.0 - np.minimum(table, 1.0))}
    for metric, value in direct.items():
      np.testing.assert_allclose(out[metric][algo]["value"], value, rtol=1e-12)
      low, high = out[metric][algo]["ci"]
      assert low <= value <= high and low < high


def test_probability_of_improvement_enumerates_pairs(scores):
  x, y = scores["a"], scores["b"].copy()
  y[0, 0] = x[3, 0]  # one tie, which counts half
  out = aggregates.improvement_probabilities({"a": x, "b": y}, [("a", "b"), ("b", "a")],
                                             reps=200)
  per_task = [np.mean((x[:, None, t] > y[None, :, t]) + 0.5 * (x[:, None, t] == y[None, :, t]))
              for t in range(TASKS)]
  np.testing.assert_allclose(out["a vs b"]["value"], np.mean(per_task), rtol=1e-12)
  np.testing.assert_allclose(out["a vs b"]["value"] + out["b vs a"]["value"], 1.0, rtol=1e-12)
  low, high = out["a vs b"]["ci"]
  assert low <= np.mean(per_task) <= high


def test_performance_profile_is_the_fraction_above_each_threshold(scores):
  taus = np.linspace(-0.5, 2.5, 7)
  out = aggregates.performance_profiles(scores, taus, reps=200)
  for algo, table in scores.items():
    direct = [(table > tau).mean() for tau in taus]
    np.testing.assert_allclose(out[algo]["fraction"], direct, rtol=1e-12)
    assert np.all(np.asarray(out[algo]["low"]) <= np.asarray(direct) + 1e-12)
    assert np.all(np.asarray(out[algo]["high"]) >= np.asarray(direct) - 1e-12)


def test_bootstrap_is_stratified_by_task_and_seeded():
  # Scores differ between tasks but not between runs of a task: resampling runs within each
  # task cannot move the mean, so its interval has no width (a pooled bootstrap would).
  table = np.tile([[0.0, 1.0, 5.0]], (RUNS, 1))
  out = aggregates.interval_estimates({"a": table}, reps=200)
  np.testing.assert_allclose(out["mean"]["a"]["ci"], [2.0, 2.0], atol=1e-12)
  rng = np.random.default_rng(1)
  noisy = {"a": table + rng.normal(0, 0.1, table.shape)}
  first = aggregates.interval_estimates(noisy, reps=200, seed=3)
  assert first == aggregates.interval_estimates(noisy, reps=200, seed=3)
  assert first != aggregates.interval_estimates(noisy, reps=200, seed=4)
