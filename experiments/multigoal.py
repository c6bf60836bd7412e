"""Figure 1 of Haarnoja et al. 2017: SQL vs DDPG on the multi-goal task (§4.1, §2.8).

  python -m experiments.multigoal --algo sql --seeds 4 --out runs/multigoal/sql
  python -m experiments.multigoal --algo sql --seeds 4 --resume runs/multigoal/sql --steps 200000

A preset of `softq.launch`: the paper's settings (SQL: alpha 10, 100x100 networks, 100 kernel
particles, batch 64, hard target copies every 1000 steps, OU exploration; 100 epochs of 1000
steps after 10 000 warm-up steps of the policy's own actions). DDPG adds a small pre-tanh action
penalty (`--preactivation_penalty`, not the paper's; without it the actor saturates its tanh and
overshoots its goal in 2 of 4 seeds). Every Config field is a flag.

Besides the launcher's outputs (results.json, metrics.csv, tensorboard/, learning_curve.png,
policy/, checkpoints/) writes DIR/figure1.png (the first 50 evaluation paths on the reward
contours; Q over the action box at three states with 100 sampled actions) and, in
results.json, how many of the evaluation paths of each run end within distance 1 of each goal.
"""

from softq import cli, launch

HIDDEN = (100, 100)
Q_STATES = ((-2.5, 0.0), (0.0, 0.0), (2.5, 2.5))
FIGURE_PATHS = 50


def report(run: launch.Run) -> dict:
  """figure1.png and the per-goal path counts of every run (with 95 % bootstrap intervals of the
  fraction of paths at each goal across seeds)."""
  import os

  import jax
  import jax.numpy as jnp
  import numpy as np

  from softq import evaluate, plotting
  from softq.envs import multigoal

  agent, config = run.agent, run.config
  params = run.result.carry.seeds.agent.params
  paths = np.asarray(run.result.evaluation["paths"])  # [R, E, T + 1, 2]
  counts = np.asarray(multigoal.goal_counts(jnp.asarray(paths[:, :, -1])))  # [R, 4]
  num_paths = paths.shape[1]

  grid = np.linspace(-multigoal.BOUND, multigoal.BOUND, 141)
  xx, yy = np.meshgrid(grid, grid)
  reward = np.asarray(multigoal.reward(jnp.stack([xx, yy], -1)))
  action_grid = np.linspace(-1.0, 1.0, 61)
  ax, ay = np.meshgrid(action_grid, action_grid)
  grid_actions = jnp.stack([ax, ay], -1)  # [A, A, 2]
  states = jnp.asarray(Q_STATES)

  def q_and_samples(p, k):
    obs_grid = jnp.broadcast_to(states[:, None, None, :], (len(Q_STATES),) + ax.shape + (2,))
    q = agent.q_values(config, p, obs_grid, jnp.broadcast_to(grid_actions, obs_grid.shape))
    obs_samples = jnp.broadcast_to(states[:, None, :], (len(Q_STATES), 100, 2))
    return q, agent.act(config, p, obs_samples, k, "eval")

  num_runs = counts.shape[0]
  q_grids, sampled = jax.jit(jax.vmap(q_and_samples))(
      params, jax.random.split(jax.random.key(run.seed + 2), num_runs))
  plotting.multigoal_figure(
      os.path.join(run.out, "figure1.png"), grid, reward, multigoal.GOALS,
      paths[:, :FIGURE_PATHS], action_grid, np.asarray(q_grids), Q_STATES, np.asarray(sampled),
      f"{run.algo.upper()} on the multi-goal task, {run.loop.total_steps} steps")
  fractions = counts / num_paths
  low, high = evaluate.bootstrap_ci(fractions, key=jax.random.key(run.seed + 3))
  return {
      "goals": [list(g) for g in multigoal.GOALS],
      "eval_paths": int(num_paths),
      "goal_counts": counts.tolist(),
      "no_goal_counts": (num_paths - counts.sum(axis=1)).tolist(),
      "goal_fraction_mean": fractions.mean(axis=0).tolist(),
      "goal_fraction_ci95": [low.tolist(), high.tolist()],
  }


APP = launch.App(
    name="multigoal", algos=("sql", "ddpg"), default_algo="sql", env="multigoal", seeds=4,
    presets={
        "sql": dict(alpha=10.0, critic_hidden=HIDDEN, actor_hidden=HIDDEN, kernel_particles=100,
                    value_particles=50, batch_size=64, target_update_period=1000),
        "ddpg": dict(critic_hidden=HIDDEN, actor_hidden=HIDDEN, batch_size=64, tau=1.0,
                     target_update_period=1000, preactivation_penalty=1e-3),
    },
    loop=dict(total_steps=100_000, warmup_steps=10_000, chunk_steps=1000,
              warmup_actions="policy", eval_episodes=500),
    report=report, summary=("goal_counts",))
launch.define(APP)

if __name__ == "__main__":
  cli.run(lambda argv: launch.main(APP))
