"""Aggregate scores over runs and tasks with the rliable package (Agarwal et al. 2021, "Deep
Reinforcement Learning at the Edge of the Statistical Precipice"), as the benchmark of §4.6
reports them: normalised scores, median / mean / IQM / optimality gap and probabilities of
improvement with stratified-bootstrap confidence intervals, and performance profiles.

Scores are tables `[R, T]` (runs x tasks) per algorithm. The bootstrap resamples runs within
each task (rliable's `StratifiedBootstrap`), seeded so that every number is reproducible.
"""

import numpy as np

METRICS = ("median", "mean", "iqm", "optimality_gap")


def normalise(returns, low, high):
  """Normalised scores `(returns - low) / (high - low)` per task.

  Args:
    returns: `[R, T]` raw returns (runs x tasks).
    low: `[T]` the score-0 reference per task (e.g. a uniformly random policy).
    high: `[T]` the score-1 reference per task (e.g. a reference algorithm at the budget).
  Returns:
    `[R, T]` float64 scores.
  Raises:
    ValueError: a task whose references coincide (its scores would be undefined).
  """
  returns, low, high = (np.asarray(x, np.float64) for x in (returns, low, high))
  span = high - low
  if np.any(span == 0):
    raise ValueError(f"tasks {np.flatnonzero(span == 0).tolist()} have equal references")
  return (returns - low) / span


def _metrics(scores) -> np.ndarray:
  from rliable import metrics
  return np.array([metrics.aggregate_median(scores), metrics.aggregate_mean(scores),
                   metrics.aggregate_iqm(scores), metrics.aggregate_optimality_gap(scores, 1.0)])


def _estimates(score_dict: dict, func, reps: int, seed: int, level: float):
  """rliable's `get_interval_estimates`, seeded. Its stratified bootstrap draws from NumPy's
  global generator (the `random_state` it takes does not reach the resampling), so that is
  seeded for the call and restored after it."""
  from rliable import library
  state = np.random.get_state()
  np.random.seed(seed)
  try:
    return library.get_interval_estimates(score_dict, func, reps=reps,
                                          confidence_interval_size=level)
  finally:
    np.random.set_state(state)


def interval_estimates(scores: dict, reps: int = 2000, seed: int = 0,
                       level: float = 0.95) -> dict:
  """The four aggregates of `METRICS` with stratified-bootstrap intervals.

  Median and mean are those of the per-task mean scores, IQM the mean of the middle 50 % of all
  `R * T` scores, optimality gap `1 - mean(min(score, 1))` (rliable's definitions).

  Args:
    scores: `{algo: [R, T]}` normalised scores (the same tasks for every algorithm).
    reps: bootstrap resamples.
    seed: seed of the resampling.
    level: coverage of the intervals.
  Returns:
    `{metric: {algo: {"value": float, "ci": [low, high]}}}`.
  """
  points, intervals = _estimates({a: np.asarray(s, np.float64) for a, s in scores.items()},
                                 _metrics, reps, seed, level)
  return {metric: {algo: {"value": float(points[algo][i]),
                          "ci": [float(intervals[algo][0, i]), float(intervals[algo][1, i])]}
                   for algo in scores}
          for i, metric in enumerate(METRICS)}


def improvement_probabilities(scores: dict, pairs, reps: int = 2000, seed: int = 0,
                              level: float = 0.95) -> dict:
  """`P(X > Y)`: the probability that a run of X scores higher than a run of Y on a task,
  ties counting half (the Mann–Whitney statistic over `R_X * R_Y`), averaged over tasks.

  Args:
    scores: `{algo: [R, T]}`.
    pairs: `[(x, y), ...]` algorithm names in `scores`.
  Returns:
    `{"x vs y": {"value": float, "ci": [low, high]}}` (bootstrap over each algorithm's runs
    independently, within tasks).
  """
  from rliable import metrics
  pair_dict = {f"{x} vs {y}": [np.asarray(scores[x], np.float64),
                               np.asarray(scores[y], np.float64)] for x, y in pairs}
  points, intervals = _estimates(pair_dict, metrics.probability_of_improvement, reps, seed,
                                 level)
  return {name: {"value": float(points[name]), "ci": np.ravel(intervals[name]).tolist()}
          for name in pair_dict}


def performance_profiles(scores: dict, taus, reps: int = 2000, seed: int = 0,
                         level: float = 0.95) -> dict:
  """Run-score distributions: the fraction of all `R * T` runs scoring above each threshold.

  Args:
    scores: `{algo: [R, T]}`.
    taus: `[K]` thresholds.
  Returns:
    `{algo: {"fraction": [K], "low": [K], "high": [K]}}`.
  """
  from rliable import library
  taus = np.asarray(taus, np.float64)
  points, intervals = _estimates({a: np.asarray(s, np.float64) for a, s in scores.items()},
                                 lambda s: library.score_distributions(s, taus), reps, seed,
                                 level)
  return {algo: {"fraction": points[algo].tolist(), "low": intervals[algo][0].tolist(),
                 "high": intervals[algo][1].tolist()} for algo in scores}
