"""Settings shared by the apps of the soft Q-learning paper's Brax experiments (Haarnoja et al.
2017, App. D): SQL and DDPG presets, the budget presets, and reading each algorithm's results."""

import json
import os

HIDDEN = (200, 200)
# The pre-training temperatures of the quadruped (Haarnoja et al. 2017 §5.3), one run per value.
ANT_ALPHAS = "alpha=10,1,0.1,0.01"
# `paper`: 500 epochs of 10 000 steps (App. D); `cpu`: 200 000 steps per run (SQL on the swimmer,
# 4 seeds: about 1.6 h on a 2-core CPU).
BUDGETS = {
    "cpu": {"loop": dict(total_steps=200_000, chunk_steps=10_000, warmup_steps=10_000)},
    "paper": {"loop": dict(total_steps=5_000_000, chunk_steps=10_000, warmup_steps=10_000)},
}


def presets(target_update_period: int) -> dict:
  """SQL (alpha 0.1, K = M = 32, 50 value particles) and DDPG with 200x200 networks, batch 64
  and hard target copies every `target_update_period` steps (App. D)."""
  return {
      "sql": dict(alpha=0.1, critic_hidden=HIDDEN, actor_hidden=HIDDEN, kernel_particles=32,
                  value_particles=50, batch_size=64, target_update_period=target_update_period),
      "ddpg": dict(critic_hidden=HIDDEN, actor_hidden=HIDDEN, batch_size=64, tau=1.0,
                   target_update_period=target_update_period),
  }


def results_by_algo(runs: list, fields: tuple) -> dict:
  """`{algo: {field: value}}` from each trained algorithm's DIR/ALGO/results.json."""
  by_algo = {}
  for run in runs:
    with open(os.path.join(run.out, "results.json")) as f:
      group = json.load(f)
    by_algo[run.algo] = {k: group[k] for k in ("config", "wall_seconds") + fields}
  return by_algo
