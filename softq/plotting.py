"""Figures as PNG files (matplotlib, Agg backend): the multi-goal Figure 1 and learning curves."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402


def multigoal_figure(path: str, grid: np.ndarray, reward: np.ndarray, goals, paths: np.ndarray,
                     action_grid: np.ndarray, q_grids: np.ndarray, q_states, actions: np.ndarray,
                     title: str) -> None:
  """Figure 1 of Haarnoja et al. 2017 analogue (§4.1), one row per seed.

  Args:
    path: output PNG path.
    grid: `[G]` coordinates of the state grid (both axes); `reward` `[G, G]` on it (`[y, x]`).
    goals: `[4, 2]` goal positions (red dots).
    paths: evaluation paths `[S, E, T + 1, 2]`.
    action_grid: `[A]` coordinates of the action grid; `q_grids` `[S, P, A, A]` Q on it (`[y, x]`)
      at the `P` states `q_states [P, 2]`.
    actions: `[S, P, N, 2]` sampled actions at those states (stars).
    title: figure title.
  """
  num_seeds, num_states = q_grids.shape[:2]
  fig, axes = plt.subplots(num_seeds, 1 + num_states, squeeze=False,
                           figsize=(4.2 * (1 + num_states), 4.0 * num_seeds),
                           gridspec_kw={"width_ratios": [1.6] + [1] * num_states})
  goals = np.asarray(goals)
  for s in range(num_seeds):
    ax = axes[s, 0]
    ax.contour(grid, grid, reward, levels=20, cmap="viridis", linewidths=0.8)
    for p in paths[s]:
      ax.plot(p[:, 0], p[:, 1], color="tab:blue", linewidth=0.8, alpha=0.8)
    ax.plot(goals[:, 0], goals[:, 1], "o", color="red", markersize=7)
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(grid[0], grid[-1])
    ax.set_aspect("equal")
    ax.set_title(f"seed {s}: {paths.shape[1]} evaluation paths")
    for j in range(num_states):
      ax = axes[s, 1 + j]
      ax.contour(action_grid, action_grid, q_grids[s, j], levels=20, cmap="viridis",
                 linewidths=0.8)
      ax.plot(actions[s, j, :, 0], actions[s, j, :, 1], "*", color="tab:red", markersize=4)
      ax.set_xlim(-1, 1)
      ax.set_ylim(-1, 1)
      ax.set_aspect("equal")
      ax.set_title(f"Q(s, ·) at s = ({q_states[j][0]:g}, {q_states[j][1]:g})")
  fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=80)
  plt.close(fig)


def learning_curves(path: str, steps: np.ndarray, curves: dict, ylabel: str, title: str) -> None:
  """Mean ± std bands over seeds: `curves = {label: [C, S] values}` at `steps [C]`."""
  fig, ax = plt.subplots(figsize=(6, 4))
  for label, values in curves.items():
    values = np.asarray(values, dtype=float)
    mean, std = np.nanmean(values, axis=1), np.nanstd(values, axis=1)
    ax.plot(steps, mean, label=label)
    ax.fill_between(steps, mean - std, mean + std, alpha=0.25)
  ax.set_xlabel("environment steps per seed")
  ax.set_ylabel(ylabel)
  ax.set_title(title)
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
