"""softq.train: vmapped seeds equal separate runs; short SQL and DDPG runs on the multi-goal task;
a resumed run continues metrics.csv; tracked environment metrics report their extremes."""

import jax
import numpy as np
import pytest
from brax.envs.base import Wrapper

from softq import envs, train
from softq.agents import ddpg, sql
from softq.envs import multigoal
from softq.envs.wrappers import EpisodeLimit
from softq.logging import RunLogger, read_metrics

ENV = envs.make("multigoal")


def _run(agent, config, loop, keys):
  program = train.build(agent, config, ENV, loop)
  carry, evaluation, _ = train.run(program, loop, keys, jax.random.key(99))
  return carry, evaluation


def test_vmapped_seeds_equal_separate_runs():
  config = ddpg.Config(critic_hidden=(16, 16), actor_hidden=(16, 16), target_update_period=50)
  loop = train.LoopConfig(total_steps=400, chunk_steps=200, warmup_steps=100, eval_episodes=2)
  keys = jax.random.split(jax.random.key(0), 2)
  both, _ = _run(ddpg, config, loop, keys)
  program = train.build(ddpg, config, ENV, loop)  # one compiled program for both single runs
  for s in range(2):
    alone, _, _ = train.run(program, loop, keys[s:s + 1], jax.random.key(99))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a[s], b[0], rtol=2e-5, atol=1e-6),
                 both.seeds.agent.params, alone.seeds.agent.params)
    # Batched and unbatched XLA:CPU matmuls round differently: equal to float32 rounding.
    np.testing.assert_allclose(both.seeds.buffer.data.reward[s],
                               alone.seeds.buffer.data.reward[0], rtol=2e-5, atol=1e-6)
    np.testing.assert_array_equal(both.seeds.buffer.data.reward[s, :100],  # before any update
                                  alone.seeds.buffer.data.reward[0, :100])


@pytest.mark.slow
def test_short_sql_run_reaches_several_goals():
  """SQL's stochastic policy spreads over goals (§4.1).

  A test-sized setting (α 3, discount 0.9, target copies every 100 steps, small nets) so that Q
  reaches its scale within 6000 steps; the paper's setting needs the paper's budget. A random
  walk ends within 1 of a given goal ~1% of the time, so the fraction at goals is checked too.
  """
  config = sql.Config(alpha=3.0, discount=0.9, critic_hidden=(64, 64), actor_hidden=(64, 64),
                      kernel_particles=16, value_particles=16, target_update_period=100)
  loop = train.LoopConfig(total_steps=6000, chunk_steps=1000, warmup_steps=1000,
                          warmup_actions="policy", eval_episodes=50)
  _, evaluation = _run(sql, config, loop, jax.random.split(jax.random.key(0), 2))
  counts = np.asarray(multigoal.goal_counts(evaluation["paths"][:, :, -1]))
  assert np.all((counts > 0).sum(1) >= 3), counts
  assert counts.sum() / (2 * 50) >= 0.15, counts


@pytest.mark.slow
def test_short_ddpg_run_commits_to_one_goal_per_seed():
  """DDPG's deterministic policy takes every path towards one goal in each seed (§4.1, §2.9)."""
  config = ddpg.Config(critic_hidden=(64, 64), actor_hidden=(64, 64))
  loop = train.LoopConfig(total_steps=8000, chunk_steps=1000, warmup_steps=1000,
                          warmup_actions="policy", eval_episodes=10)
  _, evaluation = _run(ddpg, config, loop, jax.random.split(jax.random.key(0), 3))
  finals = np.asarray(evaluation["paths"][:, :, -1])  # [S, E, 2]
  nearest = np.argmin(np.linalg.norm(finals[:, :, None] - np.asarray(multigoal.GOALS), axis=-1),
                      axis=-1)
  assert np.all(nearest == nearest[:, :1]), nearest  # one goal per seed
  assert np.all(np.linalg.norm(finals, axis=-1) > 3.0), finals  # and the paths went there


def test_resumed_logger_continues_metrics_csv(tmp_path):
  """A logger resumed at step 20 keeps the earlier rows up to 20 and their evaluation history,
  drops rows written after the checkpoint (they are written again) and appends."""
  def chunk(log, step):
    log.on_chunk(step, {"critic_loss": np.array([step, -step])},
                 {"returns": np.array([[step, step + 2], [-step, -step]]),
                  "discounted_returns": np.array([[step / 2, step / 2], [0.0, 2.0]])})

  first = RunLogger(str(tmp_path), 40, 2)
  for step in (10, 20, 30):
    chunk(first, step)
  first.close()
  resumed = RunLogger(str(tmp_path), 40, 2, start_step=20)
  assert resumed.steps == [10, 20]
  np.testing.assert_array_equal(resumed.eval_returns, [[11, -10], [21, -20]])
  np.testing.assert_array_equal(resumed.eval_discounted_returns, [[5, 1], [10, 1]])
  for step in (30, 40):
    chunk(resumed, step)
  resumed.close()
  with open(tmp_path / "metrics.csv") as f:
    lines = f.read().splitlines()
  assert lines[0] == "step,run,critic_loss,eval_discounted_return,eval_return"
  expected = [[(s, 0, s, s / 2, s + 1), (s, 1, -s, 1, -s)] for s in (10, 20, 30, 40)]
  assert [tuple(map(float, line.split(","))) for line in lines[1:]] == sum(expected, [])
  assert resumed.steps == [10, 20, 30, 40]
  steps, values = read_metrics(str(tmp_path / "metrics.csv"), ("critic_loss",))
  np.testing.assert_array_equal(steps, [10, 20, 30, 40])
  np.testing.assert_array_equal(values["critic_loss"], [[10, 20, 30, 40], [-10, -20, -30, -40]])


class _Counted(Wrapper):
  """Multi-goal observing `(x, y, steps taken)`, with the metric `x + 10 * steps`, which grows
  by at least 9 every step: each chunk's extremes tell which states were counted."""

  @property
  def observation_size(self) -> int:
    return 3

  def reset(self, rng):
    return self._with_count(self.env.reset(rng), 0.0)

  def step(self, state, action):
    inner = state.replace(obs=state.obs[:2])
    return self._with_count(self.env.step(inner, action), state.obs[2] + 1.0)

  def _with_count(self, state, count):
    obs = jax.numpy.append(state.obs, count)
    return state.replace(obs=obs, metrics={"x": obs[0] + 10.0 * count})


def test_tracked_metric_extremes_are_those_of_the_states_acted_in():
  """`x_max` / `x_min` of each chunk equal the extremes over the observations stored that chunk
  (the states the agent acted in), over both parallel environments and the warm-up."""
  env = EpisodeLimit(_Counted(multigoal.MultiGoal()), 1000)
  config = ddpg.Config(critic_hidden=(8,), actor_hidden=(8,))
  loop = train.LoopConfig(total_steps=400, chunk_steps=200, warmup_steps=100, num_envs=2,
                          eval_episodes=1)
  chunks = []
  program = train.build(ddpg, config, env, loop, track=("x",))
  carry, _, _ = train.run(program, loop, jax.random.split(jax.random.key(3), 2),
                          jax.random.key(4), on_chunk=lambda step, m, e: chunks.append(m))
  obs = np.asarray(carry.seeds.buffer.data.obs)  # [S, 400, 3], in order of collection
  x = obs[..., 0] + np.float32(10.0) * obs[..., 2]
  assert len(chunks) == 2
  for c, metrics in enumerate(chunks):
    stored = x[:, 200 * c:200 * (c + 1)]
    np.testing.assert_array_equal(metrics["x_max"], stored.max(axis=1))
    np.testing.assert_array_equal(metrics["x_min"], stored.min(axis=1))
  np.testing.assert_array_equal(obs[:, :200, 2].max(axis=1), 99)  # 100 steps per environment


def test_resumed_logger_widens_metrics_csv_for_new_scalars(tmp_path):
  """A run resumed by a version that logs one more scalar keeps the earlier rows (NaN in the new
  column); a run that drops a scalar is refused."""
  first = RunLogger(str(tmp_path), 30, 1)
  first.write(10, {"critic_loss": np.array([1.0])})
  first.close()
  resumed = RunLogger(str(tmp_path), 30, 1, start_step=10)
  resumed.write(20, {"critic_loss": np.array([2.0]), "alpha": np.array([0.5])})
  with open(tmp_path / "metrics.csv") as f:
    assert f.read().splitlines() == ["step,run,alpha,critic_loss", "10,0,nan,1.0",
                                     "20,0,0.5,2.0"]
  with pytest.raises(ValueError, match="has columns"):
    resumed.write(30, {"alpha": np.array([0.5])})
  resumed.close()


def test_fixed_evaluation_keys_and_the_stochastic_evaluation():
  """`eval_keys="fixed"`: every evaluation uses the evaluation key itself (the same episodes at
  every chunk); "per_chunk" folds in the chunk index. `eval_stochastic` adds the
  training-time policy's return on the same episodes."""
  from softq.agents import sac
  config = sac.Config(critic_hidden=(8, 8), actor_hidden=(8, 8), batch_size=8, eval_mode="mean")
  keys, eval_key = jax.random.split(jax.random.key(0), 2), jax.random.key(5)
  for eval_keys in ("fixed", "per_chunk"):
    loop = train.LoopConfig(total_steps=40, chunk_steps=20, warmup_steps=10, eval_episodes=3,
                            eval_keys=eval_keys, eval_stochastic=True)
    program = train.build(sac, config, ENV, loop)
    seen = []
    carry, _, _ = train.run(program, loop, keys, eval_key,
                            on_chunk=lambda step, metrics, evaluation: seen.append(evaluation))
    key = eval_key if eval_keys == "fixed" else jax.random.fold_in(eval_key, 1)
    again = program.evaluate(carry.seeds.agent.params, key)
    for name in ("returns", "stochastic_returns"):
      np.testing.assert_array_equal(seen[1][name], again[name])
    assert seen[1]["stochastic_returns"].shape == (2, 3)
    # tanh(mean) and samples of the same Gaussian policy act differently.
    assert not np.allclose(seen[1]["stochastic_returns"], seen[1]["returns"])
  with pytest.raises(ValueError, match="eval_keys must be one of per_chunk, fixed"):
    train.LoopConfig(eval_keys="random")
