"""Run logging: one progress bar with one rate (environment steps per second over all runs), CSV
scalars and TensorBoard event files; `read_metrics` reads the CSV back."""

import csv
import os
import time

import numpy as np
import tqdm
from tensorboardX import SummaryWriter


# tqdm's own rate would count steps of one run; the postfix carries the one rate shown.
BAR_FORMAT = ("{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} steps per run "
              "[{elapsed}<{remaining}{postfix}]")


class RunLogger:
  """Writes per-run scalars to `DIR/metrics.csv` and `DIR/tensorboard/`, and shows progress.

  Usage: `log = RunLogger(out_dir, total_steps, num_seeds)`, then `log.write(step, scalars)` with
  `scalars = {name: [R] array}` after each chunk (or pass `log.on_chunk` to `softq.train.run`),
  and `log.close()` at the end. `log.steps`, `log.eval_returns`,
  `log.eval_discounted_returns` and (with a stochastic evaluation, else empty)
  `log.eval_stochastic_returns` (`[R]` per chunk) keep the evaluation history for learning
  curves.

  A resumed run passes `start_step`, the step of the checkpoint it continues: the rows an earlier
  run wrote up to that step are kept (with their evaluation history), later ones are dropped
  (the resumed run writes those steps again) and new rows are appended.
  """

  def __init__(self, out_dir: str, total_steps: int, num_seeds: int, start_step: int = 0,
               enabled: bool = True, label: str | None = None):
    self.num_seeds = num_seeds
    self.enabled = enabled
    self._csv_path = os.path.join(out_dir, "metrics.csv")
    self._columns = None
    self.steps, self.eval_returns, self.eval_discounted_returns = [], [], []
    self.eval_stochastic_returns = []
    if start_step and os.path.exists(self._csv_path):
      self._continue(start_step)
    self._tb = SummaryWriter(os.path.join(out_dir, "tensorboard")) if enabled else None
    # The bar appears with the first chunk's figures, so that a run failing before it (e.g. a
    # damaged checkpoint) prints nothing but its error line.
    self._bar_args = dict(total=total_steps, initial=start_step, desc=label, dynamic_ncols=True,
                          disable=not enabled, bar_format=BAR_FORMAT)
    self._bar = None
    self._last = (time.perf_counter(), start_step)

  def _continue(self, start_step: int) -> None:
    """Keeps metrics.csv's header and rows with step <= `start_step`; refills the history."""
    with open(self._csv_path, newline="") as f:
      rows = list(csv.reader(f))
    if not rows:
      return
    kept = [r for r in rows[1:] if int(r[0]) <= start_step]
    if any(int(r[1]) >= self.num_seeds for r in kept):
      raise ValueError(f"{self._csv_path} has more than {self.num_seeds} runs; it belongs to "
                       "another run")
    self._columns = rows[0]
    temporary = self._csv_path + ".tmp"
    with open(temporary, "w", newline="") as f:
      csv.writer(f).writerows([self._columns] + kept)
    os.replace(temporary, self._csv_path)
    for name, history in (("eval_return", self.eval_returns),
                          ("eval_discounted_return", self.eval_discounted_returns),
                          ("eval_stochastic_return", self.eval_stochastic_returns)):
      if name not in self._columns:
        continue
      column = self._columns.index(name)
      for step in sorted({int(r[0]) for r in kept}):
        values = {int(r[1]): float(r[column]) for r in kept if int(r[0]) == step}
        history.append(np.array([values[s] for s in range(self.num_seeds)]))
    if "eval_return" in self._columns:
      self.steps.extend(sorted({int(r[0]) for r in kept}))

  def on_chunk(self, step: int, metrics: dict, evaluation: dict) -> None:
    """`softq.train.run`'s callback: logs the metrics and the mean evaluation return per seed,
    undiscounted and discounted (and the stochastic evaluation's return when there is one)."""
    eval_return = np.asarray(evaluation["returns"]).mean(axis=1)
    discounted = np.asarray(evaluation["discounted_returns"]).mean(axis=1)
    scalars = {**metrics, "eval_return": eval_return, "eval_discounted_return": discounted}
    if "stochastic_returns" in evaluation:
      stochastic = np.asarray(evaluation["stochastic_returns"]).mean(axis=1)
      scalars["eval_stochastic_return"] = stochastic
      self.eval_stochastic_returns.append(stochastic)
    self.write(step, scalars)
    self.steps.append(step)
    self.eval_returns.append(eval_return)
    self.eval_discounted_returns.append(discounted)

  def write(self, step: int, scalars: dict) -> None:
    """Appends one CSV row per run, one TensorBoard scalar per run and name; advances the bar."""
    if not self.enabled:
      return
    names = sorted(scalars)
    if self._columns is None:
      self._columns = ["step", "run"] + names
      with open(self._csv_path, "w", newline="") as f:
        csv.writer(f).writerow(self._columns)
    elif self._columns != ["step", "run"] + names:
      self._widen(names)
    with open(self._csv_path, "a", newline="") as f:
      writer = csv.writer(f)
      for seed in range(self.num_seeds):
        writer.writerow([step, seed] + [float(np.asarray(scalars[n])[seed]) for n in names])
    for name in names:
      for seed, value in enumerate(np.asarray(scalars[name])):
        if np.isfinite(value):  # e.g. losses are NaN before the first update
          self._tb.add_scalar(f"{name}/run{seed}", float(value), step)
    self._tb.flush()
    now = time.perf_counter()
    rate = (step - self._last[1]) * self.num_seeds / max(now - self._last[0], 1e-9)
    self._last = (now, step)
    postfix = {"env-steps/s (all runs)": f"{rate:.0f}"}
    if "eval_return" in scalars:
      postfix["eval_return"] = f"{np.nanmean(scalars['eval_return']):.2f}"
    if self._bar is None:
      self._bar = tqdm.tqdm(**self._bar_args)
    self._bar.set_postfix(postfix, refresh=False)
    self._bar.update(step - self._bar.n)

  def _widen(self, names: list) -> None:
    """Rewrites metrics.csv with the columns `names` when they add to its own (a run resumed by
    a version that logs more scalars; earlier rows read NaN there); raises otherwise."""
    old = self._columns[2:]
    if not set(old) <= set(names):
      raise ValueError(f"{self._csv_path} has columns {old}, this run writes {names}")
    with open(self._csv_path, newline="") as f:
      rows = list(csv.DictReader(f))
    self._columns = ["step", "run"] + names
    temporary = self._csv_path + ".tmp"
    with open(temporary, "w", newline="") as f:
      writer = csv.writer(f)
      writer.writerow(self._columns)
      writer.writerows([[r.get(c, "nan") for c in self._columns] for r in rows])
    os.replace(temporary, self._csv_path)

  def close(self) -> None:
    if self._bar is not None:
      self._bar.close()
    if self._tb is not None:
      self._tb.close()


def read_metrics(path: str, names) -> tuple[np.ndarray, dict]:
  """Columns of a metrics.csv written by `RunLogger` as arrays per run.

  Args:
    path: the CSV file.
    names: the columns wanted.
  Returns:
    `(steps [C], {name: [R, C]})`: the recorded steps in increasing order and each column per
    run and step (NaN where a run has no row at a step).
  """
  with open(path, newline="") as f:
    rows = list(csv.DictReader(f))
  steps = np.array(sorted({int(r["step"]) for r in rows}), dtype=np.int64)
  column = {s: c for c, s in enumerate(steps)}
  num_runs = 1 + max((int(r["run"]) for r in rows), default=-1)
  values = {name: np.full((num_runs, len(steps)), np.nan) for name in names}
  for r in rows:
    for name in names:
      values[name][int(r["run"]), column[int(r["step"])]] = float(r[name])
  return steps, values
