"""`softq.train.train(initial_params=...)`: every fresh run starts from the given networks, target
networks included (fine-tuning, §4.5)."""

import jax
import jax.numpy as jnp

from softq import envs, train
from softq.agents import sql


def test_runs_start_from_the_given_networks():
  """With no target copy during training, the final target critic is the given critic."""
  config = sql.Config(critic_hidden=(8, 8), actor_hidden=(8, 8), kernel_particles=4,
                      value_particles=4, batch_size=8, target_update_period=10_000)
  env = envs.make("multigoal", 10)
  loop = train.LoopConfig(total_steps=40, chunk_steps=20, warmup_steps=20, eval_episodes=1)
  keys = jax.random.split(jax.random.key(0), 2)
  saved = jax.vmap(lambda k: sql.init(config, k, env.observation_size, env.action_size).params)(
      jax.random.split(jax.random.key(9), 2))
  result = train.train(sql, config, env, keys, loop, initial_params=saved)
  agent = result.carry.seeds.agent
  same = lambda a, b: all(jax.tree.leaves(jax.tree.map(lambda x, y: bool(jnp.all(x == y)), a, b)))
  assert same(agent.target_critic, saved.critic)
  fresh = train.train(sql, config, env, keys, loop).carry.seeds.agent
  assert not same(fresh.target_critic, saved.critic)
