"""Every `softq.plotting` figure on small synthetic arrays: a PNG at >= 150 dpi, labelled axes,
a title, a labelled colorbar on every colour-mapped artist and a legend where one is promised."""

import numpy as np
from PIL import Image
import pytest

from softq import plotting

RNG = np.random.default_rng(0)


def _panels(fig):
  """The figure's data axes (colorbars excluded)."""
  return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _colour_mapped(ax):
  """Images, contour sets and colour-coded scatters drawn on `ax`."""
  return list(ax.images) + [c for c in ax.collections if c.get_array() is not None]


def _check(fig, path, *, colorbars: int = 0, legend: bool = True):
  """Shared checks; `colorbars` is the minimum number of colorbars the figure must carry."""
  assert path.exists() and path.stat().st_size > 0
  with Image.open(path) as image:
    dpi = image.info.get("dpi")
    size = image.size
  assert dpi is not None and min(dpi) >= 149.5, dpi
  assert plotting.DPI >= 150
  width, height = fig.get_size_inches() * plotting.DPI
  assert abs(size[0] - width) <= 2 and abs(size[1] - height) <= 2, (size, width, height)
  titles = [fig.get_suptitle()] + [ax.get_title() for ax in _panels(fig)]
  assert any(titles), "no title"
  for ax in _panels(fig):
    spec = ax.get_subplotspec()
    if spec is None or spec.is_last_row():
      assert ax.get_xlabel(), f"panel {ax.get_title()!r} has no x label"
    if spec is None or spec.is_first_col():
      assert ax.get_ylabel(), f"panel {ax.get_title()!r} has no y label"
    for artist in _colour_mapped(ax):
      assert artist.colorbar is not None, f"colour map without colorbar in {ax.get_title()!r}"
      cax = artist.colorbar.ax
      assert cax.get_ylabel() or cax.get_xlabel(), "colorbar without a label"
  found = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
  assert len(found) >= colorbars, (len(found), colorbars)
  if legend:
    legends = list(fig.legends) + [ax.get_legend() for ax in _panels(fig) if ax.get_legend()]
    assert legends, "no legend"
  return fig


def _legend_texts(fig):
  texts = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
  for ax in _panels(fig):
    if ax.get_legend():
      texts += [t.get_text() for t in ax.get_legend().get_texts()]
  return texts


def test_multigoal_figure(tmp_path):
  seeds, states, grid_n, act_n = 2, 3, 21, 11
  grid = np.linspace(-7, 7, grid_n)
  xx, yy = np.meshgrid(grid, grid)
  goals = np.array([[5.0, 0.0], [-5.0, 0.0], [0.0, 5.0], [0.0, -5.0]])
  reward = -np.min(np.linalg.norm(np.stack([xx, yy], -1)[..., None, :] - goals, axis=-1), -1)
  paths = np.cumsum(RNG.normal(0, 0.4, (seeds, 5, 16, 2)), axis=2)
  action_grid = np.linspace(-1, 1, act_n)
  q = RNG.normal(size=(seeds, states, act_n, act_n))
  actions = RNG.uniform(-1, 1, (seeds, states, 20, 2))
  path = tmp_path / "figure1.png"
  fig = plotting.multigoal_figure(str(path), grid, reward, goals, paths, action_grid, q,
                                  [(0, 0), (-2.5, 0), (2.5, 2.5)], actions, "synthetic")
  _check(fig, path, colorbars=seeds * (1 + states))
  labels = {ax.get_xlabel() for ax in _panels(fig)} | {ax.get_ylabel() for ax in _panels(fig)}
  assert {"x", "y", "action a_x", "action a_y"} <= labels
  cbar_labels = {ax.get_ylabel() for ax in fig.axes if ax.get_label() == "<colorbar>"}
  assert {"reward r(s)", "Q(s, a)"} <= cbar_labels
  texts = _legend_texts(fig)
  assert "goals" in texts and "path start s₀" in texts
  goal_names = {t.get_text() for ax in _panels(fig) for t in ax.texts}
  assert {"G1", "G2", "G3", "G4"} <= goal_names


@pytest.mark.parametrize("band", ["std", "minmax"])
def test_learning_curves_names_the_band(tmp_path, band):
  steps = np.arange(0, 1000, 100)
  curves = {"sql": RNG.normal(size=(10, 4)), "ddpg": RNG.normal(size=(10, 4))}
  path = tmp_path / "curve.png"
  fig = plotting.learning_curves(str(path), steps, curves, "evaluation return", "synthetic",
                                 band=band)
  _check(fig, path)
  texts = _legend_texts(fig)
  stat = "mean ± std" if band == "std" else "min–max"
  assert len(texts) == 2 and all(stat in t and "4 seeds" in t for t in texts), texts


def test_learning_curves_positional_call_is_backward_compatible(tmp_path):
  path = tmp_path / "curve.png"
  fig = plotting.learning_curves(str(path), np.arange(5), {"sql": np.ones((5, 1))}, "return",
                                 "one seed")
  _check(fig, path)
  assert _legend_texts(fig) == ["sql (1 seed)"]


def test_band_curves(tmp_path):
  curves = {"a2c": (np.arange(8), np.zeros(8), np.ones(8)),
            "dqn": (np.arange(6) * 2, np.ones(6), np.ones(6))}
  path = tmp_path / "curves.png"
  fig = plotting.band_curves(str(path), curves, 5, "environment steps per seed", "return", "t")
  _check(fig, path)
  assert all("mean ± std over 5 seeds" in t for t in _legend_texts(fig))


def test_entropy_figures(tmp_path):
  steps = list(range(0, 50, 10))
  names = ("svgd", "sgld", "dld", "hmc")
  path = tmp_path / "gaussian.png"
  fig = plotting.entropy_gaussian_figure(
      str(path), {n: RNG.normal(size=(30, 2)) for n in names}, {n: 3.0 for n in names}, steps,
      {n: np.linspace(4, 3.4, len(steps)) for n in names}, 3.4112, 2, 20,
      target_mean=[0.0, 0.0], target_cov=[[1.0, 0.3], [0.3, 2.0]])
  _check(fig, path)
  assert any("mean over 2 seeds" in t for t in _legend_texts(fig))

  path = tmp_path / "kernel_width.png"
  sigmas = [0.1, 1.0, 10.0]
  fig = plotting.entropy_kernel_width_figure(
      str(path), sigmas, RNG.normal(3, 0.2, (3, 2)), steps, RNG.normal(3, 0.2, (3, len(steps))),
      3.4112, 20)
  _check(fig, path)
  assert any("mean ± std over 2 seeds" in t for t in _legend_texts(fig))

  path = tmp_path / "mixtures.png"
  study = {"components": [1, 2, 4], "truth": [2.8, 3.5, 4.2],
           "at_l_per_seed": RNG.normal(3, 0.3, (3, 2)), "steps": steps,
           "curves": RNG.normal(3, 0.3, (3, len(steps)))}
  fig = plotting.entropy_mixtures_figure(str(path), {"d2": study, "d4": study}, 20)
  _check(fig, path)
  assert "Monte Carlo truth" in _legend_texts(fig)


def _network(n=60):
  xy = RNG.uniform(0, 1000, (n, 2))
  return xy, np.arange(0, 12), np.arange(0, 12, 2)


def test_irl_figures(tmp_path):
  xy, route, guess = _network()
  path = tmp_path / "costs.png"
  fig = plotting.cost_weights_figure(str(path), ["length", "time", "lanes"],
                                     {"true θ": [-1, -2, 0.5], "MaxEnt IRL": [-1.1, -1.8, 0.4]},
                                     "synthetic")
  _check(fig, path)

  path = tmp_path / "routes.png"
  fig = plotting.route_figure(str(path), xy, route, {"MaxEnt IRL": guess, "fastest": route[::3]},
                              "synthetic")
  _check(fig, path)
  assert {"held-out route", "origin", "destination"} <= set(_legend_texts(fig))

  path = tmp_path / "accuracy.png"
  fig = plotting.destination_accuracy_figure(
      str(path), [0.1, 0.5, 0.9], {"maxent": [30.0, 60.0, 90.0], "prior": [30.0] * 3}, 40,
      "synthetic", chance=20.0)
  _check(fig, path)
  assert all("95% Wilson CI, 40 test trips" in t for t in _legend_texts(fig)[:2])

  path = tmp_path / "posterior.png"
  fig = plotting.destination_posterior_figure(
      str(path), xy, route[:6], np.array([3, 20, 40, 55]), np.array([0.1, 0.6, 0.2, 0.1]),
      "synthetic", true_destination=20)
  _check(fig, path, colorbars=1)


def test_multigoal_sweep_figures(tmp_path):
  goals = np.array([[5.0, 0.0], [-4.0, 3.0], [-4.0, -3.0]])
  paths = np.cumsum(RNG.normal(0, 0.5, (2, 3, 4, 11, 2)), axis=3)
  rows, cols = ["s2ac", "sac"], ["α = 0.2", "α = 1", "α = 5"]
  path = tmp_path / "trajectories.png"
  fig = plotting.trajectories_figure(str(path), paths, rows, cols, goals, 7.0, "synthetic",
                                     obstacle=[[-2, 0], [0, 2]])
  _check(fig, path)
  assert "obstacle" in _legend_texts(fig)

  path = tmp_path / "entropy_heatmap.png"
  fig = plotting.entropy_heatmaps_figure(str(path), RNG.normal(size=(2, 3, 5, 5)),
                                         np.linspace(-7, 7, 5), rows, cols, goals, "synthetic")
  _check(fig, path, colorbars=6)

  path = tmp_path / "goal_distribution.png"
  per_seed = RNG.dirichlet(np.ones(4), size=(2, 3, 2))
  fig = plotting.goal_distribution_figure(
      str(path), per_seed.mean(2), rows, cols, ["G1", "G2", "G3", "no goal"], "synthetic",
      per_seed=per_seed)
  _check(fig, path)
  assert "min–max over 2 seeds" in _legend_texts(fig)


def test_swimmer_and_maze_figures(tmp_path):
  steps = np.array([10, 20, 30])
  forward = np.array([[0.2, 0.9, 1.7], [0.1, 0.3, 0.4]])
  path = tmp_path / "swimmer.png"
  reach = {"SQL": (forward, -forward), "DDPG": (forward / 2, -forward)}
  fig = plotting.swimmer_figure(str(path), steps, reach, 1.5, "synthetic")
  _check(fig, path)
  assert {"SQL (2 runs)", "DDPG (2 runs)", "finish line (x = 1.5)"} <= set(_legend_texts(fig))

  path = tmp_path / "maze.png"
  paths = np.cumsum(np.full((2, 1, 5, 2), 0.5), axis=2)  # [R, E, T + 1, 2]
  fig = plotting.maze_figure(str(path), steps, {"SQL": 8.0 - forward}, {"SQL": paths},
                             ((-1.0, -2.0, 4.0, 1.0),), (8.0, 0.0), 1.5, "synthetic")
  _check(fig, path)
  assert {"SQL (2 runs)", "goal", "walls", "run 0", "run 1"} <= set(_legend_texts(fig))


def test_benchmark_figures(tmp_path):
  from softq import aggregates, benchmark_figures
  steps = np.arange(1, 13) * 1000
  curves = {task: {"sac": RNG.normal(size=(12, 3)), "s2ac": RNG.normal(size=(12, 3))}
            for task in ("hopper", "ant")}
  path = tmp_path / "curves.png"
  fig = benchmark_figures.benchmark_curves(str(path), steps, curves, "synthetic")
  _check(fig, path)
  assert "S2AC (mean, min–max over 3 seeds)" in _legend_texts(fig)
  scores = {"sac": RNG.normal(1, 0.2, (5, 2)), "s2ac": RNG.normal(0.8, 0.2, (5, 2))}
  path = tmp_path / "aggregates.png"
  fig = benchmark_figures.aggregates_figure(
      str(path), aggregates.interval_estimates(scores, reps=50),
      aggregates.improvement_probabilities(scores, [("s2ac", "sac")], reps=50), "synthetic")
  _check(fig, path, legend=False)  # one bar per algorithm, named on the y axis
  assert [t.get_text() for t in fig.axes[-1].get_yticklabels()] == ["S2AC > SAC"]
  taus = np.linspace(0, 2, 9)
  path = tmp_path / "profiles.png"
  fig = benchmark_figures.profiles_figure(
      str(path), taus, aggregates.performance_profiles(scores, taus, reps=50), "synthetic")
  _check(fig, path)


def test_savitzky_golay_smoothing_keeps_quadratics_and_short_curves():
  from softq import benchmark_figures
  x = np.arange(15.0)
  quadratic = np.stack([0.3 * x ** 2 - x + 2, -x], axis=1)
  np.testing.assert_allclose(benchmark_figures.smooth(quadratic), quadratic, atol=1e-9)
  noisy = quadratic[:, 0] + RNG.normal(0, 1, 15)
  assert np.std(benchmark_figures.smooth(noisy) - quadratic[:, 0]) < np.std(noisy - quadratic[:, 0])
  np.testing.assert_array_equal(benchmark_figures.smooth(x[:2]), x[:2])
