"""Publication figures as PNG files (matplotlib, Agg backend): arrays in, a PNG path out.

Every function writes one PNG at `DPI` dots per inch with a tight layout, labelled axes, a title,
a labelled colorbar on every contour / heat map / colour-coded scatter, and a legend wherever a
panel shows more than one kind of line or marker; spread bands name their statistic and the
number of seeds in the legend. Each function returns the (closed) `matplotlib.figure.Figure`
so tests can inspect what was drawn.

Callers: `experiments.multigoal` / `experiments.train` (`multigoal_figure`, `learning_curves`),
`experiments.pg_common` (`band_curves`), `experiments.entropy_eval` (`entropy_*_figure`),
`experiments.irl_routes` (`cost_weights_figure`, `route_figure`), `experiments.irl_destinations`
(`destination_accuracy_figure`, `destination_posterior_figure`), `experiments.s2ac_multigoal`
(`trajectories_figure`, `entropy_heatmaps_figure`, `goal_distribution_figure`) and
`experiments.policy_fit` (`policy_fit_figure`), `experiments.swimmer` (`swimmer_figure`) and
`experiments.ant_maze` (`maze_figure`).
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.lines import Line2D  # noqa: E402
import numpy as np  # noqa: E402

from softq.stats import wilson_interval  # noqa: E402

DPI = 150  # every figure is saved at this resolution

_GOAL_STYLE = dict(marker="o", color="red", markersize=7, markeredgecolor="black",
                   markeredgewidth=0.6, linestyle="none")
_START_STYLE = dict(marker="s", color="gold", markersize=6, markeredgecolor="black",
                    markeredgewidth=0.6, linestyle="none")


def _save(fig, path: str, title: str | None = None, rect=(0, 0, 1, 1)):
  """Suptitle, tight layout, `savefig(path, dpi=DPI)`, close; returns the figure."""
  if title:
    fig.suptitle(title)
  fig.tight_layout(rect=rect)
  fig.savefig(path, dpi=DPI)
  plt.close(fig)
  return fig


def _seeds(n: int) -> str:
  return f"{n} seed" if n == 1 else f"{n} seeds"


def _band_label(label: str, num_seeds: int, band: str = "std") -> str:
  """`"SQL (mean ± std over 4 seeds)"`; a single seed has no band."""
  if num_seeds <= 1:
    return f"{label} (1 seed)"
  stat = {"std": "mean ± std", "minmax": "mean, min–max"}[band]
  return f"{label} ({stat} over {num_seeds} seeds)"


def _legend_below(fig, handles, labels, ncol=None, fontsize=8):
  """A figure legend under the panels; returns the layout rect that leaves room for it."""
  ncol = ncol or min(len(handles), 4)
  rows = -(-len(handles) // ncol)
  height = (0.28 * rows + 0.15) / fig.get_size_inches()[1]
  fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=fontsize, frameon=False)
  return (0, height, 1, 1)


def _mark_goals(ax, goals, annotate=True, fontsize=8):
  """Red goal dots labelled G1, G2, ... ; returns the handle for a legend."""
  goals = np.asarray(goals)
  (handle,) = ax.plot(goals[:, 0], goals[:, 1], **_GOAL_STYLE)
  if annotate:
    for i, (gx, gy) in enumerate(goals):
      ax.annotate(f"G{i + 1}", (gx, gy), xytext=(4, 4), textcoords="offset points",
                  fontsize=fontsize, fontweight="bold")
  return handle


# --------------------------------------------------------------------------------------------
# Multi-goal (Haarnoja et al. 2017 Figure 1) and learning curves


def multigoal_figure(path: str, grid: np.ndarray, reward: np.ndarray, goals, paths: np.ndarray,
                     action_grid: np.ndarray, q_grids: np.ndarray, q_states, actions: np.ndarray,
                     title: str):
  """Figure 1 of Haarnoja et al. 2017 analogue (§4.1), one row per seed.

  Left panel: reward (filled contours, colorbar), evaluation paths, their start, the goals
  (G1..G4) and the states of the Q panels. Other panels: Q(s, a) over the action square at
  those states (filled contours, colorbar) with the policy's sampled actions.

  Args:
    path: output PNG path.
    grid: `[G]` coordinates of the state grid (both axes); `reward` `[G, G]` on it (`[y, x]`).
    goals: `[K, 2]` goal positions.
    paths: evaluation paths `[S, E, T + 1, 2]`.
    action_grid: `[A]` coordinates of the action grid; `q_grids` `[S, P, A, A]` Q on it (`[y, x]`)
      at the `P` states `q_states [P, 2]`.
    actions: `[S, P, N, 2]` sampled actions at those states.
    title: figure title.
  Returns:
    The figure.
  """
  paths, q_grids, actions = np.asarray(paths), np.asarray(q_grids), np.asarray(actions)
  q_states, goals = np.asarray(q_states), np.asarray(goals)
  num_seeds, num_states = q_grids.shape[:2]
  fig, axes = plt.subplots(num_seeds, 1 + num_states, squeeze=False,
                           figsize=(4.6 * (1.45 + num_states), 4.2 * num_seeds),
                           gridspec_kw={"width_ratios": [1.45] + [1] * num_states})
  for s in range(num_seeds):
    ax = axes[s, 0]
    filled = ax.contourf(grid, grid, reward, levels=20, cmap="Greys_r", alpha=0.8)
    fig.colorbar(filled, ax=ax, fraction=0.046, pad=0.03, label="reward r(s)")
    for p in paths[s]:
      (path_line,) = ax.plot(p[:, 0], p[:, 1], color="tab:blue", linewidth=0.8, alpha=0.8)
    (start,) = ax.plot(paths[s, :, 0, 0], paths[s, :, 0, 1], **_START_STYLE)
    goal = _mark_goals(ax, goals, fontsize=9)
    (probe,) = ax.plot(q_states[:, 0], q_states[:, 1], "x", color="tab:orange", markersize=8,
                       markeredgewidth=2, linestyle="none")
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(grid[0], grid[-1])
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"seed {s}: {paths.shape[1]} evaluation paths", fontsize=10)
    ax.legend([path_line, start, goal, probe],
              ["evaluation paths", "path start s₀", "goals", "states of the Q panels"],
              loc="lower left", fontsize=7, framealpha=0.85)
    for j in range(num_states):
      ax = axes[s, 1 + j]
      filled = ax.contourf(action_grid, action_grid, q_grids[s, j], levels=20, cmap="viridis")
      fig.colorbar(filled, ax=ax, fraction=0.046, pad=0.03, label="Q(s, a)")
      ax.plot(actions[s, j, :, 0], actions[s, j, :, 1], "*", color="tab:red",
              markeredgecolor="white", markeredgewidth=0.3, markersize=6,
              label="sampled actions a ~ π(·|s)")
      ax.set_xlim(action_grid[0], action_grid[-1])
      ax.set_ylim(action_grid[0], action_grid[-1])
      ax.set_aspect("equal")
      ax.set_xlabel("action a_x")
      ax.set_ylabel("action a_y")
      ax.set_title(f"Q(s, ·) at s = ({q_states[j][0]:g}, {q_states[j][1]:g})", fontsize=10)
      ax.legend(loc="lower left", fontsize=7, framealpha=0.85)
  return _save(fig, path, title)


def learning_curves(path: str, steps: np.ndarray, curves: dict, ylabel: str, title: str, *,
                    xlabel: str = "environment steps per seed", band: str = "std"):
  """Mean over seeds with a named spread band, one line per entry of `curves`.

  Args:
    path: output PNG path.
    steps: `[C]` x values (environment steps per seed at each record).
    curves: `{label: [C, S] values}` (NaNs ignored); the legend reads
      `"label (mean ± std over S seeds)"`.
    ylabel: what is plotted, e.g. "evaluation return".
    title: figure title.
    xlabel: x-axis label.
    band: "std" (mean ± std) or "minmax" (min–max over seeds).
  Returns:
    The figure.
  """
  steps = np.asarray(steps)
  stats = {}
  for label, values in curves.items():
    values = np.asarray(values, dtype=float).reshape(len(steps), -1)
    mean = np.nanmean(values, axis=1)
    if band == "std":
      low, high = mean - np.nanstd(values, axis=1), mean + np.nanstd(values, axis=1)
    elif band == "minmax":
      low, high = np.nanmin(values, axis=1), np.nanmax(values, axis=1)
    else:
      raise ValueError(f"band must be 'std' or 'minmax', got {band!r}")
    stats[label] = (steps, mean, low, high, values.shape[1])
  return _draw_bands(path, stats, xlabel, ylabel, title, band)


def band_curves(path: str, curves: dict, num_seeds: int, xlabel: str, ylabel: str, title: str):
  """Precomputed mean ± std curves (each with its own x values), bands named in the legend.

  Args:
    path: output PNG path.
    curves: `{label: (x [C], mean [C], std [C])}` (`C` may differ between labels).
    num_seeds: seeds the statistics were taken over (legend text).
    xlabel, ylabel, title: axis labels and title.
  Returns:
    The figure.
  """
  stats = {}
  for label, (x, mean, std) in curves.items():
    mean, std = np.asarray(mean, dtype=float), np.asarray(std, dtype=float)
    stats[label] = (np.asarray(x), mean, mean - std, mean + std, num_seeds)
  return _draw_bands(path, stats, xlabel, ylabel, title, "std")


def _draw_bands(path, stats, xlabel, ylabel, title, band):
  fig, ax = plt.subplots(figsize=(6.4, 4.2))
  handles, labels = [], []
  for label, (x, mean, low, high, num_seeds) in stats.items():
    (line,) = ax.plot(x, mean, linewidth=1.6)
    if num_seeds > 1:
      patch = ax.fill_between(x, low, high, color=line.get_color(), alpha=0.25, linewidth=0)
      handles.append((line, patch))
    else:
      handles.append(line)
    labels.append(_band_label(label, num_seeds, band))
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  ax.set_title(title)
  ax.grid(alpha=0.3)
  ax.legend(handles, labels, fontsize=8)
  return _save(fig, path)


# --------------------------------------------------------------------------------------------
# Entropy evaluation (Messaoud et al. 2024 §4.1 / App. I)


def _ellipse(mean, cov, radius, num=200):
  """Points `[num, 2]` of the Mahalanobis ellipse `|x - mean|_Σ⁻¹ = radius`."""
  t = np.linspace(0, 2 * np.pi, num)
  return np.asarray(mean) + radius * np.stack([np.cos(t), np.sin(t)], -1) @ np.linalg.cholesky(
      np.asarray(cov)).T


def entropy_gaussian_figure(path: str, particles: dict, estimates: dict, steps: np.ndarray,
                            curves: dict, truth: float, num_seeds: int, steps_at: int,
                            target_mean=None, target_cov=None, lim: float = 6.0):
  """Particles of each sampler at `L` steps and entropy estimate vs steps against the truth.

  Args:
    path: output PNG path.
    particles: `{sampler: [m, 2]}` particles (one seed) after `steps_at` steps.
    estimates: `{sampler: float}` entropy estimate at `steps_at` (mean over seeds, nats).
    steps: `[K]` recorded step counts; `curves` `{sampler: [K]}` estimate (mean over seeds).
    truth: analytic entropy of the target (nats).
    num_seeds: particle sets averaged in `estimates` / `curves`.
    steps_at: the headline number of steps L.
    target_mean, target_cov: `[2]`, `[2, 2]` of the Gaussian target (1σ/2σ ellipses), optional.
    lim: particle panels show `[-lim, lim]²`.
  Returns:
    The figure.
  """
  names = list(particles)
  fig, axes = plt.subplots(1, len(names) + 1, figsize=(3.6 * len(names) + 5.2, 4.0),
                           gridspec_kw={"width_ratios": [1] * len(names) + [1.45]})
  for ax, name in zip(axes, names):
    p = np.asarray(particles[name])
    ax.scatter(p[:, 0], p[:, 1], s=4, c="k", label="particles (seed 0)")
    if target_mean is not None:
      for r, ls in ((1, "-"), (2, "--")):
        e = _ellipse(target_mean, target_cov, r)
        ax.plot(e[:, 0], e[:, 1], color="tab:red", ls=ls, lw=1.2, label=f"target {r}σ contour")
    ax.set_title(f"{name.upper()}, L = {steps_at}: Ĥ = {estimates[name]:.2f} nats", fontsize=10)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("u₁")
    ax.set_ylabel("u₂")
    ax.legend(loc="lower right", fontsize=7, markerscale=2)
  ax = axes[-1]
  for name in names:
    ax.plot(steps, curves[name], label=f"{name.upper()} (mean over {_seeds(num_seeds)})")
  ax.axhline(truth, color="k", ls="--", label=f"analytic truth {truth:.4f}")
  ax.axvline(steps_at, color="gray", ls=":", label=f"L = {steps_at}")
  ax.set_ylim(truth - 4, truth + 3)
  ax.set_xlabel("sampler steps")
  ax.set_ylabel("entropy estimate Ĥ (nats)")
  ax.set_title("estimate vs steps", fontsize=10)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7)
  return _save(fig, path, "Entropy of a 2-D Gaussian target from particle log-densities")


def entropy_kernel_width_figure(path: str, sigmas, at_l_per_seed: np.ndarray, steps: np.ndarray,
                                curves: np.ndarray, truth: float, steps_at: int):
  """SVGD entropy estimate against the fixed kernel width σ, at `L` and vs steps.

  Args:
    path: output PNG path.
    sigmas: `[W]` kernel widths σ (`k = exp(-|Δ|²/(2σ²))`).
    at_l_per_seed: `[W, S]` estimates at `steps_at` per seed (nats).
    steps: `[K]` recorded steps; `curves` `[W, K]` mean-over-seeds estimate.
    truth: analytic entropy (nats).
    steps_at: the headline number of steps L.
  Returns:
    The figure.
  """
  sigmas, at_l = np.asarray(sigmas, dtype=float), np.asarray(at_l_per_seed, dtype=float)
  num_seeds = at_l.shape[1]
  fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
  ax = axes[0]
  ax.errorbar(sigmas, at_l.mean(1), yerr=at_l.std(1) if num_seeds > 1 else None, fmt="o-",
              capsize=3, label=_band_label(f"SVGD at L = {steps_at}", num_seeds))
  ax.axhline(truth, color="k", ls="--", label=f"analytic truth {truth:.4f}")
  ax.set_xscale("log")
  ax.set_xlabel("kernel width σ")
  ax.set_ylabel("entropy estimate Ĥ (nats)")
  ax.set_title(f"estimate at L = {steps_at} steps", fontsize=10)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8)
  ax = axes[1]
  colors = plt.cm.viridis(np.linspace(0, 0.9, len(sigmas)))
  for s, curve, color in zip(sigmas, np.asarray(curves), colors):
    ax.plot(steps, curve, color=color, label=f"σ = {s:g}")
  ax.axhline(truth, color="k", ls="--", label="analytic truth")
  ax.set_xlabel("SVGD steps")
  ax.set_ylabel("entropy estimate Ĥ (nats)")
  ax.set_title(f"estimate vs steps (mean over {_seeds(num_seeds)})", fontsize=10)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7, ncol=2)
  return _save(fig, path, "SVGD entropy estimate vs fixed kernel width")


def entropy_mixtures_figure(path: str, studies: dict, steps_at: int):
  """SVGD entropy estimate for Gaussian mixtures against a Monte Carlo truth, one row per study.

  Args:
    path: output PNG path.
    studies: `{name: {"components": [N], "truth": [N], "at_l_per_seed": [N, S],
      "steps": [K], "curves": [N, K]}}` (`name` e.g. "d2"; estimates in nats, curves are means
      over the `S` seeds).
    steps_at: the headline number of steps L.
  Returns:
    The figure.
  """
  fig, axes = plt.subplots(len(studies), 2, squeeze=False, figsize=(11, 4.0 * len(studies)))
  for i, (name, rows) in enumerate(studies.items()):
    components = np.asarray(rows["components"])
    truth = np.asarray(rows["truth"], dtype=float)
    at_l = np.asarray(rows["at_l_per_seed"], dtype=float)
    num_seeds = at_l.shape[1]
    ax = axes[i, 0]
    ax.plot(components, truth, "ks--", label="Monte Carlo truth")
    ax.errorbar(components, at_l.mean(1), yerr=at_l.std(1) if num_seeds > 1 else None,
                fmt="o-", capsize=3, label=_band_label(f"SVGD at L = {steps_at}", num_seeds))
    ax.set_xticks(components)
    ax.set_xlabel("mixture components n")
    ax.set_ylabel("entropy (nats)")
    ax.set_title(f"{name}: estimate at L = {steps_at} steps", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax = axes[i, 1]
    for n, curve, t in zip(components, np.asarray(rows["curves"]), truth):
      (line,) = ax.plot(rows["steps"], curve, label=f"n = {n}")
      ax.axhline(t, color=line.get_color(), ls=":")
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="gray", ls=":"))
    labels.append("Monte Carlo truth (per n)")
    ax.set_xlabel("SVGD steps")
    ax.set_ylabel("entropy estimate Ĥ (nats)")
    ax.set_title(f"{name}: estimate vs steps (mean over {_seeds(num_seeds)})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(handles, labels, fontsize=7)
  return _save(fig, path, "SVGD entropy estimate on Gaussian mixtures")


# --------------------------------------------------------------------------------------------
# MaxEnt IRL on road networks (Ziebart et al. 2008 Figures 3-5)


def cost_weights_figure(path: str, feature_names, weights: dict, title: str):
  """Grouped bars of the cost weights `-θ` per feature, one colour per model.

  Args:
    path: output PNG path.
    feature_names: `[F]` feature names.
    weights: `{model label: [F] reward weights θ}` (plotted as cost `-θ`).
    title: figure title.
  Returns:
    The figure.
  """
  names = list(feature_names)
  fig, ax = plt.subplots(figsize=(max(6.0, 0.75 * len(names) + 3), 4.4))
  width = 0.8 / len(weights)
  x = np.arange(len(names))
  for i, (model, theta) in enumerate(weights.items()):
    ax.bar(x + i * width, -np.asarray(theta, dtype=float), width, label=model)
  ax.axhline(0, color="k", lw=0.6)
  ax.set_xticks(x + 0.4 - width / 2, names, rotation=30, ha="right")
  ax.set_xlabel("road feature")
  ax.set_ylabel("cost weight −θ")
  ax.set_title(title)
  ax.grid(axis="y", alpha=0.3)
  ax.legend(fontsize=8)
  return _save(fig, path)


def route_figure(path: str, xy: np.ndarray, route: np.ndarray, predictions: dict, title: str,
                 units: str = "m"):
  """A held-out route over the road network with the models' most likely routes.

  Args:
    path: output PNG path.
    xy: `[N, 2]` road-segment midpoints (drawn relative to their minimum).
    route: `[L]` segment indices of the observed route (no padding).
    predictions: `{label: [L'] segment indices}` predicted routes between its ends.
    title: figure title.
    units: coordinate units (axis labels).
  Returns:
    The figure.
  """
  xy, route = np.asarray(xy), np.asarray(route)
  xy = xy - xy.min(0)  # offsets from the network's corner read better than raw map coordinates
  fig, ax = plt.subplots(figsize=(6.4, 6.4))
  ax.scatter(xy[:, 0], xy[:, 1], s=2, c="lightgray", label="road segments (midpoints)")
  ax.plot(xy[route, 0], xy[route, 1], "k-", lw=5, alpha=0.35, label="held-out route")
  styles = ("-", "--", "-.", ":")
  colors = ("tab:blue", "tab:red", "tab:green", "tab:purple")
  for i, (label, guess) in enumerate(predictions.items()):
    guess = np.asarray(guess)
    ax.plot(xy[guess, 0], xy[guess, 1], ls=styles[i % 4], color=colors[i % 4], lw=1.6,
            label=f"{label} prediction")
  ax.plot(*xy[route[0]], **_START_STYLE, label="origin")
  ax.plot(*xy[route[-1]], marker="*", color="tab:red", markersize=13, markeredgecolor="black",
          linestyle="none", label="destination")
  ax.set_aspect("equal")
  ax.set_xlabel(f"x − min x ({units})")
  ax.set_ylabel(f"y − min y ({units})")
  ax.set_title(title)
  ax.legend(loc="best", fontsize=8)
  return _save(fig, path)


def destination_accuracy_figure(path: str, fractions, accuracy: dict, num_trips: int, title: str,
                                chance: float | None = None):
  """Destination accuracy vs the observed fraction of the route, 95 % CI bands over trips.

  Args:
    path: output PNG path.
    fractions: `[F]` observed fractions of each test route (0..1).
    accuracy: `{model label: [F] accuracy in %}` over `num_trips` held-out trips.
    num_trips: test trips each accuracy is measured on (binomial Wilson interval).
    title: figure title.
    chance: optional accuracy (%) of a uniform guess, drawn as a reference line.
  Returns:
    The figure.
  """
  x = 100 * np.asarray(fractions, dtype=float)
  fig, ax = plt.subplots(figsize=(6.4, 4.4))
  handles, labels = [], []
  for label, row in accuracy.items():
    (line,) = ax.plot(x, row, "o-", markersize=4)
    low, high = (100 * b for b in wilson_interval(np.asarray(row) / 100, num_trips))
    band = ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    handles.append((line, band))
    labels.append(f"{label} (95% Wilson CI, {num_trips} test trips)")
  if chance is not None:
    handles.append(ax.axhline(chance, color="gray", ls=":"))
    labels.append(f"uniform guess ({chance:g}%)")
  ax.set_xlabel("observed part of the route (%)")
  ax.set_ylabel("destination accuracy (%)")
  ax.set_ylim(0, 102)
  ax.set_title(title)
  ax.grid(alpha=0.3)
  ax.legend(handles, labels, fontsize=7)
  return _save(fig, path)


def destination_posterior_figure(path: str, xy: np.ndarray, seen: np.ndarray,
                                 destinations: np.ndarray, posterior: np.ndarray, title: str,
                                 true_destination: int | None = None, units: str = "m"):
  """Posterior over candidate destinations given a partial route (Figure 4 analogue).

  Args:
    path: output PNG path.
    xy: `[N, 2]` road-segment midpoints (drawn relative to their minimum).
    seen: `[L]` segment indices of the observed part of the route.
    destinations: `[C]` candidate destination segments; `posterior` `[C]` their probabilities.
    title: figure title.
    true_destination: optional segment index where the trip really ends.
    units: coordinate units (axis labels).
  Returns:
    The figure.
  """
  xy, seen = np.asarray(xy), np.asarray(seen)
  destinations, posterior = np.asarray(destinations), np.asarray(posterior, dtype=float)
  xy = xy - xy.min(0)  # offsets from the network's corner read better than raw map coordinates
  fig, ax = plt.subplots(figsize=(7.0, 6.4))
  ax.scatter(xy[:, 0], xy[:, 1], s=2, c="lightgray", label="road segments (midpoints)")
  ax.plot(xy[seen, 0], xy[seen, 1], "k-", lw=3, label="observed part of the route")
  ax.plot(*xy[seen[0]], **_START_STYLE, label="route start")
  dots = ax.scatter(xy[destinations, 0], xy[destinations, 1], s=1500 * posterior + 30,
                    c=posterior, cmap="Reds", vmin=0, vmax=1, edgecolors="black",
                    linewidths=0.6, alpha=0.85, label="candidate destinations (area ∝ posterior)")
  fig.colorbar(dots, ax=ax, fraction=0.046, pad=0.03, label="P(destination | observed route)")
  for i, c in enumerate(destinations):
    ax.annotate(f"D{i + 1}: {posterior[i]:.2f}", xy[c], xytext=(6, 6),
                textcoords="offset points", fontsize=9)
  if true_destination is not None:
    ax.plot(*xy[true_destination], "x", color="tab:blue", markersize=12, markeredgewidth=2.5,
            linestyle="none", label="true destination")
  ax.set_aspect("equal")
  ax.set_xlabel(f"x − min x ({units})")
  ax.set_ylabel(f"y − min y ({units})")
  ax.set_title(title)
  ax.legend(loc="best", fontsize=7, markerscale=0.5)
  return _save(fig, path)


# --------------------------------------------------------------------------------------------
# Asymmetric multi-goal task across temperatures (Messaoud et al. 2024 §4.2)


def _label_outer(ax, xlabel, ylabel):
  if ax.get_subplotspec().is_last_row():
    ax.set_xlabel(xlabel)
  if ax.get_subplotspec().is_first_col():
    ax.set_ylabel(ylabel)


def trajectories_figure(path: str, paths: np.ndarray, row_labels, col_labels, goals, bound: float,
                        title: str, obstacle=None):
  """Grid of test-episode trajectories (rows e.g. algorithms, columns e.g. temperatures).

  Args:
    path: output PNG path.
    paths: `[R, C, N, T + 1, 2]` positions of `N` episodes per panel.
    row_labels: `[R]` and `col_labels` `[C]` panel labels (e.g. "sac", "α = 1").
    goals: `[K, 2]` goal positions.
    bound: panels show `[-bound, bound]²`.
    title: figure title.
    obstacle: optional `[2, 2]` endpoints of a wall segment.
  Returns:
    The figure.
  """
  paths = np.asarray(paths)
  rows, cols = paths.shape[:2]
  fig, axes = plt.subplots(rows, cols, squeeze=False, sharex=True, sharey=True,
                           figsize=(3.0 * cols + 0.6, 3.0 * rows + 0.6))
  for i in range(rows):
    for j in range(cols):
      ax = axes[i, j]
      for p in paths[i, j]:
        (episode,) = ax.plot(p[:, 0], p[:, 1], color="tab:blue", linewidth=0.6, alpha=0.5)
      (start,) = ax.plot(paths[i, j, :, 0, 0], paths[i, j, :, 0, 1], **_START_STYLE)
      goal = _mark_goals(ax, goals, annotate=(i == 0 and j == 0))
      handles = [episode, start, goal]
      labels = [f"test episodes ({paths.shape[2]} per panel)", "start", "goals G1..G3"]
      if obstacle is not None:
        obstacle = np.asarray(obstacle)
        (wall,) = ax.plot(obstacle[:, 0], obstacle[:, 1], color="black", linewidth=3)
        handles.append(wall)
        labels.append("obstacle")
      ax.set_xlim(-bound, bound)
      ax.set_ylim(-bound, bound)
      ax.set_aspect("equal")
      ax.set_title(f"{row_labels[i]}, {col_labels[j]}", fontsize=9)
      _label_outer(ax, "x", "y")
  rect = _legend_below(fig, handles, labels)
  return _save(fig, path, title, rect)


def entropy_heatmaps_figure(path: str, heat: np.ndarray, grid: np.ndarray, row_labels,
                            col_labels, goals, title: str):
  """Grid of policy-entropy heat maps over the plane, one labelled colorbar per panel.

  Args:
    path: output PNG path.
    heat: `[R, C, G, G]` entropy estimates (nats) on the state grid (`[y, x]`).
    grid: `[G]` coordinates of the grid (both axes).
    row_labels: `[R]` and `col_labels` `[C]` panel labels.
    goals: `[K, 2]` goal positions.
    title: figure title.
  Returns:
    The figure.
  """
  heat, grid = np.asarray(heat), np.asarray(grid)
  rows, cols = heat.shape[:2]
  fig, axes = plt.subplots(rows, cols, squeeze=False,
                           figsize=(3.5 * cols + 0.4, 3.0 * rows + 0.8))
  for i in range(rows):
    for j in range(cols):
      ax = axes[i, j]
      image = ax.imshow(heat[i, j], origin="lower", cmap="viridis",
                        extent=(grid[0], grid[-1], grid[0], grid[-1]))
      fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03, label="entropy (nats)")
      goal = _mark_goals(ax, goals, annotate=False)
      ax.set_title(f"{row_labels[i]}, {col_labels[j]}", fontsize=9)
      _label_outer(ax, "x", "y")
  rect = _legend_below(fig, [goal], ["goals G1..G3"])
  return _save(fig, path, title, rect)


def goal_distribution_figure(path: str, fractions: np.ndarray, row_labels, col_labels,
                             goal_labels, title: str, per_seed: np.ndarray | None = None):
  """Fraction of test episodes ending at each goal, one panel per row label, bars per column.

  Args:
    path: output PNG path.
    fractions: `[R, C, K]` fraction of all test episodes (pooled over seeds) per outcome.
    row_labels: `[R]` panel labels (e.g. algorithms); `col_labels` `[C]` bar groups' colours
      (e.g. "α = 1").
    goal_labels: `[K]` outcome names (e.g. "G1 (5, 0)", ..., "no goal").
    title: figure title.
    per_seed: optional `[R, C, S, K]` per-seed fractions; drawn as min–max error bars.
  Returns:
    The figure.
  """
  fractions = np.asarray(fractions, dtype=float)
  rows, cols, num_goals = fractions.shape
  fig, axes = plt.subplots(1, rows, squeeze=False, sharey=True,
                           figsize=(max(4.2, 0.35 * cols * num_goals + 1.5) * rows, 3.8))
  width = 0.8 / cols
  x = np.arange(num_goals)
  num_seeds = None if per_seed is None else np.asarray(per_seed).shape[2]
  for i in range(rows):
    ax = axes[0, i]
    for j in range(cols):
      yerr = None
      if num_seeds is not None and num_seeds > 1:
        seeds = np.asarray(per_seed, dtype=float)[i, j]
        yerr = np.stack([fractions[i, j] - seeds.min(0), seeds.max(0) - fractions[i, j]])
        yerr = np.maximum(yerr, 0)
      ax.bar(x + j * width, fractions[i, j], width, yerr=yerr, capsize=2,
             error_kw={"elinewidth": 0.8}, label=col_labels[j])
    ax.set_xticks(x + 0.4 - width / 2, goal_labels, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("episode outcome")
    ax.set_title(row_labels[i], fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if num_seeds is not None and num_seeds > 1:
      handles.append(Line2D([], [], color="k", marker="_", markersize=8, lw=0.8))
      labels.append(f"min–max over {num_seeds} seeds")
    ax.legend(handles, labels, fontsize=7)
  axes[0, 0].set_ylabel("fraction of test episodes")
  return _save(fig, path, title)


def planar_paths_figure(path: str, paths: np.ndarray, lengths: np.ndarray, title: str):
  """Episodes of a planar task as `(x, y)` paths (`experiments.evaluate`).

  Args:
    path: output PNG path.
    paths: `[E, T + 1, 2]` positions (frozen after an episode ends).
    lengths: `[E]` episode lengths (a path is drawn up to its end).
    title: figure title.
  """
  fig, ax = plt.subplots(figsize=(5, 5))
  for e in range(paths.shape[0]):
    end = int(lengths[e]) + 1
    ax.plot(paths[e, :end, 0], paths[e, :end, 1], color="tab:blue", lw=0.8, alpha=0.6)
  ax.plot(paths[:, -1, 0], paths[:, -1, 1], marker="x", color="black", linestyle="none",
          markersize=4)
  ax.plot(paths[:, 0, 0], paths[:, 0, 1], **_START_STYLE)
  handles = [Line2D([], [], color="tab:blue", lw=0.8), Line2D([], [], **_START_STYLE),
             Line2D([], [], marker="x", color="black", linestyle="none")]
  ax.legend(handles, [f"path ({paths.shape[0]} episodes)", "start", "end"], fontsize=8)
  ax.set_xlabel("x")
  ax.set_ylabel("y")
  ax.set_aspect("equal")
  return _save(fig, path, title)


def observation_traces_figure(path: str, paths: np.ndarray, lengths: np.ndarray, title: str,
                              coordinates: int = 4):
  """The first `coordinates` observation entries against time, one line per episode.

  Args:
    path: output PNG path.
    paths: `[E, T + 1, o]` observations (frozen after an episode ends).
    lengths: `[E]` episode lengths.
    title: figure title.
  """
  count = min(coordinates, paths.shape[-1])
  fig, axes = plt.subplots(count, 1, figsize=(7, 1.6 * count + 0.6), sharex=True, squeeze=False)
  for i, ax in enumerate(axes[:, 0]):
    for e in range(paths.shape[0]):
      end = int(lengths[e]) + 1
      ax.plot(np.arange(end), paths[e, :end, i], lw=0.8, alpha=0.7,
              label=f"episode {e}" if i == 0 and e < 5 else None)
    ax.set_ylabel(f"obs[{i}]")
  axes[0, 0].legend(fontsize=7, ncol=5, loc="upper right")
  axes[-1, 0].set_xlabel("environment step")
  return _save(fig, path, title)


def policy_fit_figure(path: str, density: np.ndarray, means: np.ndarray, panels, title: str):
  """Policy samples over a known target density on the action box `[-1, 1]^d`, d in {1, 2}.

  The first panel is the target alone; each further panel shows one policy's samples (up to
  2 000 points for d = 2, a histogram for d = 1) over the same density.

  Args:
    path: output PNG path.
    density: the target density on a midpoint grid, `[n]` (d = 1) or `[n, n]` (d = 2, indexed
      `[a_1 cell, a_2 cell]`).
    means: `[K, d]` mixture component means, marked in every panel.
    panels: `(label, samples [N, d], subtitle)` per policy.
    title: figure title.
  Returns:
    The figure.
  """
  density, means = np.asarray(density), np.asarray(means)
  n = len(panels) + 1
  cols = min(n, 4)
  rows = -(-n // cols)
  fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(3.4 * cols, 3.1 * rows + 0.6))
  for ax in axes.ravel()[n:]:
    ax.axis("off")
  cells = density.shape[0]
  centres = -1.0 + (np.arange(cells) + 0.5) * (2.0 / cells)
  for index, ax in enumerate(axes.ravel()[:n]):
    label, samples, subtitle = ("target p ∝ exp(Q/α)", None, "") if index == 0 else \
        panels[index - 1]
    if density.ndim == 1:
      ax.plot(centres, density, color="black", linewidth=1.2, label="target density")
      if samples is not None:
        ax.hist(np.asarray(samples)[:, 0], bins=50, range=(-1, 1), density=True,
                color="tab:blue", alpha=0.6, label="policy samples")
      ax.set_xlim(-1, 1)
      ax.set_xlabel("a₁")
      ax.set_ylabel("density")
      ax.legend(fontsize=7)
    else:
      image = ax.imshow(density.T, origin="lower", extent=(-1, 1, -1, 1), cmap="Greys")
      fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="target density")
      if samples is not None:
        shown = np.asarray(samples)[:2000]
        ax.scatter(shown[:, 0], shown[:, 1], s=2, color="tab:blue", alpha=0.5,
                   label="policy samples")
      ax.scatter(means[:, 0], means[:, 1], marker="x", color="red", s=30,
                 label="component means")
      ax.set_xlim(-1, 1)
      ax.set_ylim(-1, 1)
      ax.set_aspect("equal")
      ax.set_xlabel("a₁")
      ax.set_ylabel("a₂")
      ax.legend(fontsize=6, loc="lower left")
    ax.set_title(label + (f"\n{subtitle}" if subtitle else ""), fontsize=8)
  return _save(fig, path, title)


def _run_lines(ax, steps, curves: dict):
  """One line per run of every `{algorithm: [R, C]}` curve, a colour per algorithm; returns the
  legend's `(handles, labels)`, one per algorithm with its run count."""
  colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
  handles, labels = [], []
  for (name, runs), colour in zip(curves.items(), colours):
    runs = np.asarray(runs)
    for r, run in enumerate(runs):
      (line,) = ax.plot(steps, run, color=colour, lw=1.2, alpha=0.85)
      if r == 0:
        handles.append(line)
        labels.append(f"{name} ({len(runs)} run{'s' if len(runs) > 1 else ''})")
  return handles, labels


def swimmer_figure(path: str, steps: np.ndarray, reach: dict, finish_x: float, title: str):
  """How far each run has swum since training began (Haarnoja et al. 2017, Figures 3a and 6).

  Left: the furthest forward position of every run; then one panel per algorithm with each run's
  band between its furthest backward and forward positions (a row per run, offset for reading).

  Args:
    path: output PNG path.
    steps: `[C]` environment steps per run at each record.
    reach: `{algorithm: (furthest_forward [R, C], furthest_backward [R, C])}` in metres of the
      centre of mass since the start of training.
    finish_x: the finish line, drawn in red.
    title: figure title.
  Returns:
    The figure.
  """
  steps = np.asarray(steps)
  fig, axes = plt.subplots(1, 1 + len(reach), figsize=(4.2 * (1 + len(reach)), 3.8),
                           squeeze=False)
  axes = axes[0]
  colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
  handles, labels = _run_lines(axes[0], steps, {name: f for name, (f, _) in reach.items()})
  finish = axes[0].axhline(finish_x, color="red", ls="--", lw=1)
  handles.append(finish)
  labels.append(f"finish line (x = {finish_x:g})")
  axes[0].set(xlabel="environment steps per run", ylabel="furthest forward x since start (m)",
              title="furthest forward position")
  for ax, (name, (forward, backward)), colour in zip(axes[1:], reach.items(), colours):
    forward, backward = np.asarray(forward), np.asarray(backward)
    offset = 1.2 * max(np.nanmax(forward) - np.nanmin(backward), 2 * finish_x)
    for r in range(len(forward)):
      ax.fill_between(steps, backward[r] - r * offset, forward[r] - r * offset, color=colour,
                      alpha=0.35, linewidth=0)
      ax.axhline(finish_x - r * offset, color="red", ls="--", lw=0.8)
      ax.axhline(-r * offset, color="gray", lw=0.5)
    ax.set_yticks([-r * offset for r in range(len(forward))],
                  [f"run {r}" for r in range(len(forward))])
    ax.set(xlabel="environment steps per run", ylabel="x range reached (start at 0)",
           title=f"{name}: min–max x since start")
  band = plt.Rectangle((0, 0), 1, 1, color="gray", alpha=0.35)
  handles.append(band)
  labels.append("x range reached (start: gray line)")
  rect = _legend_below(fig, handles, labels)
  return _save(fig, path, title, rect)


def maze_figure(path: str, steps: np.ndarray, closest: dict, paths: dict, walls, goal,
                threshold: float, title: str):
  """The quadruped maze (Haarnoja et al. 2017, Figure 3b, and the paths behind it).

  Left: every run's minimum distance to the goal since training began, with the threshold
  below which a run must have taken the open passage; then one panel per algorithm with the
  walls, the goal and the centre of mass's path in each evaluation episode (a colour per run).

  Args:
    path: output PNG path.
    steps: `[C]` environment steps per run at each record.
    closest: `{algorithm: [R, C]}` minimum distance to the goal so far (m).
    paths: `{algorithm: [R, E, T + 1, 2]}` centre-of-mass positions of evaluation episodes.
    walls: `(x, y, width, height)` rectangles.
    goal: `(x, y)`.
    threshold: the distance drawn as a dashed line.
    title: figure title.
  Returns:
    The figure.
  """
  from matplotlib.patches import Rectangle
  steps = np.asarray(steps)
  fig, axes = plt.subplots(1, 1 + len(paths), figsize=(4.4 * (1 + len(paths)), 4.0),
                           squeeze=False)
  axes = axes[0]
  handles, labels = _run_lines(axes[0], steps, closest)
  handles.append(axes[0].axhline(threshold, color="red", ls="--", lw=1))
  labels.append(f"best distance via the blocked passage ({threshold:g} m)")
  axes[0].set(xlabel="environment steps per run", ylabel="minimum distance to goal so far (m)",
              title="closest approach to the goal")
  xs = [x for x, _, w, _ in walls] + [x + w for x, _, w, _ in walls]
  ys = [y for _, y, _, h in walls] + [y + h for _, y, _, h in walls]
  run_colours = plt.get_cmap("tab10")
  for ax, (name, episodes) in zip(axes[1:], paths.items()):
    episodes = np.asarray(episodes)
    for x, y, w, h in walls:
      ax.add_patch(Rectangle((x, y), w, h, color="dimgray"))
    for r, run in enumerate(episodes):
      for e, p in enumerate(run):
        ax.plot(p[:, 0], p[:, 1], color=run_colours(r % 10), lw=0.8, alpha=0.7,
                label=f"run {r}" if e == 0 else None)
    (start,) = ax.plot([0.0], [0.0], **_START_STYLE)
    (target,) = ax.plot([goal[0]], [goal[1]], **_GOAL_STYLE)
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.5, max(ys) + 0.5)
    ax.set_aspect("equal")
    ax.set(xlabel="x (m)", ylabel="y (m)", title=f"{name}: evaluation paths of the centre of mass")
    ax.legend(loc="upper left", fontsize=7, ncol=2)
  handles += [start, target, Rectangle((0, 0), 1, 1, color="dimgray")]
  labels += ["start", "goal", "walls"]
  rect = _legend_below(fig, handles, labels)
  return _save(fig, path, title, rect)
