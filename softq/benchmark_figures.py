"""Figures of the continuous-control benchmark (§4.6, Messaoud et al. 2024 Fig. 8): learning
curves per task (mean over seeds with a min–max band, Savitzky–Golay smoothed, as the paper),
the rliable aggregates with their intervals, probabilities of improvement and performance
profiles. Arrays in, one PNG out, in the conventions of `softq.plotting`."""

import numpy as np
from scipy.signal import savgol_filter

from softq.plotting import _band_label, _legend_below, _save, plt

METRIC_NAMES = {"median": "Median", "mean": "Mean", "iqm": "IQM",
                "optimality_gap": "Optimality gap"}


def smooth(values, window: int = 11, order: int = 2) -> np.ndarray:
  """Savitzky–Golay smoothing along the first axis; `[C, ...]` in, same shape out.

  The paper smooths over 10 evaluations; an even window has its centre between two
  evaluations and shifts the curve by half an evaluation, so the window is odd: 11 by default,
  shortened to the largest odd size within the curve. A curve of at most `order` + 1 points is
  returned unchanged.
  """
  values = np.asarray(values, np.float64)
  window = min(window, len(values))
  window -= 1 - window % 2  # odd
  if window <= order:
    return values
  return savgol_filter(values, window, order, axis=0)


def benchmark_curves(path: str, steps: np.ndarray, curves: dict, title: str,
                     window: int = 11):
  """One panel per task: for each algorithm the smoothed mean over seeds and the smoothed
  min–max band.

  Args:
    path: output PNG path.
    steps: `[C]` environment steps per seed at each evaluation.
    curves: `{task: {algo: [C, S] evaluation returns}}`.
    title: figure title.
    window: Savitzky–Golay window, in evaluations.
  Returns:
    The figure.
  """
  tasks = list(curves)
  fig, axes = plt.subplots(1, len(tasks), figsize=(4.0 * len(tasks), 3.6), squeeze=False)
  handles, labels = {}, {}
  for ax, task in zip(axes[0], tasks):
    for i, (algo, values) in enumerate(curves[task].items()):
      values = np.asarray(values, np.float64).reshape(len(steps), -1)
      colour = f"C{i}"
      (line,) = ax.plot(steps, smooth(np.mean(values, 1), window), color=colour, linewidth=1.6)
      handle = line
      if values.shape[1] > 1:
        band = ax.fill_between(steps, smooth(np.min(values, 1), window),
                               smooth(np.max(values, 1), window), color=colour, alpha=0.2,
                               linewidth=0)
        handle = (line, band)
      handles.setdefault(algo, handle)
      labels.setdefault(algo, _band_label(algo.upper(), values.shape[1], "minmax"))
    ax.set_title(task)
    ax.set_xlabel("environment steps per seed")
    ax.set_ylabel("evaluation return (smoothed)")
    ax.grid(alpha=0.3)
  rect = _legend_below(fig, list(handles.values()), list(labels.values()))
  return _save(fig, path, title, rect)


def aggregates_figure(path: str, estimates: dict, improvement: dict, title: str):
  """The four aggregates per algorithm (point and 95 % interval) and, in a fifth panel, the
  probabilities of improvement.

  Args:
    path: output PNG path.
    estimates: `softq.aggregates.interval_estimates` output.
    improvement: `softq.aggregates.improvement_probabilities` output (may be empty).
    title: figure title.
  Returns:
    The figure.
  """
  panels = len(estimates) + (1 if improvement else 0)
  fig, axes = plt.subplots(1, panels, figsize=(3.2 * panels, 2.8), squeeze=False)
  for ax, (metric, by_algo) in zip(axes[0], estimates.items()):
    algos = list(by_algo)
    _intervals(ax, algos, [by_algo[a]["value"] for a in algos], [by_algo[a]["ci"] for a in algos])
    ax.set_xlabel(f"{METRIC_NAMES.get(metric, metric)} of normalised scores")
  axes[0, 0].set_ylabel("algorithm")
  if improvement:
    ax = axes[0, -1]
    names = list(improvement)
    _intervals(ax, names, [improvement[n]["value"] for n in names],
               [improvement[n]["ci"] for n in names])
    ax.axvline(0.5, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("probability of improvement P(X > Y)")
    ax.set_ylabel("pair X > Y")
  return _save(fig, path, title + " (95 % stratified-bootstrap intervals)")


def _intervals(ax, names, values, cis):
  y = np.arange(len(names))
  low = np.array([c[0] for c in cis])
  high = np.array([c[1] for c in cis])
  for i in y:
    ax.barh(i, high[i] - low[i], left=low[i], height=0.6, color=f"C{i}", alpha=0.6)
    ax.plot([values[i], values[i]], [i - 0.3, i + 0.3], color="black", linewidth=1.5)
  ax.set_yticks(y, [n.upper().replace(" VS ", " > ") for n in names])
  ax.grid(alpha=0.3, axis="x")


def profiles_figure(path: str, taus, profiles: dict, title: str):
  """Performance profiles: the fraction of runs above each normalised score, with intervals.

  Args:
    path: output PNG path.
    taus: `[K]` thresholds.
    profiles: `softq.aggregates.performance_profiles` output.
    title: figure title.
  Returns:
    The figure.
  """
  fig, ax = plt.subplots(figsize=(5.6, 4.0))
  for i, (algo, profile) in enumerate(profiles.items()):
    ax.plot(taus, profile["fraction"], color=f"C{i}", linewidth=1.6, label=algo.upper())
    ax.fill_between(taus, profile["low"], profile["high"], color=f"C{i}", alpha=0.2,
                    linewidth=0)
  ax.set_xlabel(r"normalised score $\tau$")
  ax.set_ylabel(r"fraction of runs with score > $\tau$")
  ax.set_ylim(-0.02, 1.02)
  ax.grid(alpha=0.3)
  ax.legend(title="95 % interval bands", fontsize=8, title_fontsize=8)
  return _save(fig, path, title)
