"""Evaluation: rollouts compiled and vmapped over episodes (and, by the caller, over runs), and
statistics across runs with bootstrap confidence intervals."""

import jax
import jax.numpy as jnp
import numpy as np


def rollouts(env, policy, key: jax.Array, num_episodes: int, horizon: int,
             discount: float = 1.0):
  """Runs `num_episodes` episodes of at most `horizon` steps from fresh resets.

  Args:
    env: an `EpisodeLimit`-wrapped environment (unbatched).
    policy: `(obs [o], key) -> action [d]`.
    key: PRNG key.
    num_episodes: `E`.
    horizon: `T`, steps per episode (rewards after an episode ends are masked out).
    discount: `gamma` of `discounted_returns`.
  Returns:
    dict with `returns [E]`, `discounted_returns [E]` (`sum_t gamma^t r_t`), `paths [E, T + 1,
    o]` (observations; frozen after the end), `lengths [E]` (int).
  """

  def episode(k):
    k_reset, k_steps = jax.random.split(k)
    state = env.reset(k_reset)

    def body(carry, k_step):
      state, alive = carry
      action = policy(state.obs, k_step)
      nxt = env.step(state, action)
      reward = nxt.reward * alive
      nxt = jax.tree.map(lambda a, b: jnp.where(alive > 0, a, b), nxt, state)
      return (nxt, alive * (1.0 - nxt.done)), (nxt.obs, reward, alive)

    _, (obs, rewards, alive) = jax.lax.scan(body, (state, jnp.ones(())),
                                            jax.random.split(k_steps, horizon))
    paths = jnp.concatenate([state.obs[None], obs], axis=0)
    weights = discount ** jnp.arange(horizon, dtype=rewards.dtype)
    return {"returns": jnp.sum(rewards), "discounted_returns": jnp.sum(weights * rewards),
            "paths": paths,
            "lengths": jnp.sum(alive).astype(jnp.int32)}

  return jax.vmap(episode)(jax.random.split(key, num_episodes))


def bootstrap_ci(values, key: jax.Array, level: float = 0.95, resamples: int = 10_000):
  """Percentile-bootstrap interval of the mean over the first axis (runs).

  Args:
    values: `[N, ...]` per-run values (e.g. the fraction of paths at each goal, `[N, K]`).
    key: PRNG key of the resampling.
    level: coverage of the interval, in (0, 1).
    resamples: bootstrap resamples.
  Returns:
    `(low, high)`, each `[...]`: the `(1 - level) / 2` and `(1 + level) / 2` quantiles of the
    means of `resamples` resamples of the `N` runs drawn with replacement (both equal the value
    itself when `N = 1`).
  """
  if not 0.0 < level < 1.0:
    raise ValueError(f"level must be in (0, 1), got {level}")
  values = np.asarray(values, np.float64)
  n = values.shape[0]
  index = np.asarray(jax.random.randint(key, (resamples, n), 0, n))
  means = values[index].mean(axis=1)  # [resamples, ...]
  tail = (1.0 - level) / 2.0
  return np.quantile(means, tail, axis=0), np.quantile(means, 1.0 - tail, axis=0)
