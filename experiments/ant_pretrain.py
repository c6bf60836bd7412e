"""Haarnoja et al. 2017 §5.3, pre-training (§4.5): SQL at alpha = 10, 1, 0.1, 0.01 and DDPG on the
quadruped rewarded for the planar speed of its centre of mass in any direction (`ant_speed`).

  python -m experiments.ant_pretrain --out runs/ant_pretrain                # small default budget
  python -m experiments.ant_pretrain --preset cpu --seeds 4 --out runs/ant_pretrain_cpu
  python -m experiments.ant_pretrain --preset paper --seeds 4 --out runs/ant_pretrain_paper

A multi-algorithm `softq.launch` preset: SQL (its four temperatures swept in one program) and
DDPG are each trained into DIR/ALGO/ (results.json, metrics.csv, tensorboard/, checkpoints/ and
the saved policy in policy/), with the paper's App. D settings (200x200 networks, batch 64,
K = M = 32, 50 value particles, OU noise, targets copied every 1000 steps). The saved policies
are what `experiments.finetune --pretrained DIR` starts from.

Budgets (`--preset`): the default (20 000 steps per run) is a smoke test; `cpu` is 60 000 steps;
`paper` is the paper's 5 million.
"""

from experiments import sql_tasks
from softq import cli, launch

BUDGETS = {
    "cpu": {"loop": dict(total_steps=60_000, chunk_steps=10_000, warmup_steps=10_000)},
    "paper": {"loop": dict(total_steps=5_000_000, chunk_steps=10_000, warmup_steps=10_000)},
}


def combine(runs: list, out: str) -> dict:
  """Per algorithm: the folder of its saved policies, its config and final returns."""
  del out
  return {"policies": {run.algo: run.out for run in runs},
          "by_algo": sql_tasks.results_by_algo(runs, ("runs",))}


APP = launch.App(
    name="ant_pretrain", algos=("sql", "ddpg"), default_algo="sql,ddpg", env="ant_speed",
    seeds=4, multi=True, sweep={"sql": sql_tasks.ANT_ALPHAS},
    presets=sql_tasks.presets(target_update_period=1000), budgets=BUDGETS,
    loop=dict(total_steps=20_000, chunk_steps=5000, warmup_steps=10_000, eval_episodes=1),
    combine=combine)
launch.define(APP)

if __name__ == "__main__":
  cli.run(lambda argv: launch.main(APP))
