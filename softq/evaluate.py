"""Evaluation rollouts, compiled and vmapped over episodes (and, by the caller, over seeds)."""

import jax
import jax.numpy as jnp


def rollouts(env, policy, key: jax.Array, num_episodes: int, horizon: int):
  """Runs `num_episodes` episodes of at most `horizon` steps from fresh resets.

  Args:
    env: an `EpisodeLimit`-wrapped environment (unbatched).
    policy: `(obs [o], key) -> action [d]`.
    key: PRNG key.
    num_episodes: `E`.
    horizon: `T`, steps per episode (rewards after an episode ends are masked out).
  Returns:
    dict with `returns [E]`, `paths [E, T + 1, o]` (observations; frozen after the end),
    `lengths [E]` (int).
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
    return {"returns": jnp.sum(rewards), "paths": paths,
            "lengths": jnp.sum(alive).astype(jnp.int32)}

  return jax.vmap(episode)(jax.random.split(key, num_episodes))
