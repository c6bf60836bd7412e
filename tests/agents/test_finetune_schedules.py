"""Fine-tuning machinery (§4.5): SQL's log-linear α annealing and frozen noise set, and starting
a fresh train state from saved networks (`agents.base.start_from`)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from softq.agents import base, ddpg, sql
from softq.types import Transition

HIDDEN = dict(critic_hidden=(8, 8), actor_hidden=(8, 8))


def _batch(key, obs_size=3, action_size=2, size=16):
  k1, k2, k3 = jax.random.split(key, 3)
  return Transition(obs=jax.random.normal(k1, (size, obs_size)),
                    action=jax.random.uniform(k2, (size, action_size), minval=-1, maxval=1),
                    reward=jax.random.normal(k3, (size,)), next_obs=jnp.ones((size, obs_size)),
                    terminal=jnp.zeros(size), truncated=jnp.zeros(size))


def test_alpha_anneals_log_linearly_then_holds(x64):
  config = sql.Config(alpha_final=1e-3, schedule_steps=200, **HIDDEN)
  alpha0 = jnp.asarray(10.0)
  got = [float(sql.alpha_at(config, alpha0, jnp.asarray(t))) for t in (0, 50, 100, 200, 400)]
  # log alpha is linear in t: at t = T/4 a quarter of the way from log 10 to log 1e-3.
  want = [10.0, 10.0 ** 0.0, 10.0 ** -1.0, 1e-3, 1e-3]
  np.testing.assert_allclose(got, want, rtol=1e-12)
  unscheduled = sql.Config(**HIDDEN)
  assert float(sql.alpha_at(unscheduled, alpha0, jnp.asarray(400))) == 10.0


def test_noise_set_shrinks_linearly_from_32_to_1():
  config = sql.Config(noise_set=32, noise_set_final=1, schedule_steps=310, **HIDDEN)
  counts = [int(sql.noise_count_at(config, jnp.asarray(t))) for t in (0, 10, 155, 300, 310, 999)]
  assert counts == [32, 31, 16, 2, 1, 1]


def test_update_uses_the_annealed_alpha():
  """After the schedule, the critic's targets are those of `alpha_final`, not the initial α."""
  config = sql.Config(alpha=10.0, alpha_final=1e-3, schedule_steps=5, value_particles=8,
                      **HIDDEN)
  state = sql.init(config, jax.random.key(0), 3, 2).replace(step=jnp.asarray(5, jnp.int32))
  batch = _batch(jax.random.key(1))
  _, metrics = sql.update(config, state, batch)
  _, k_value, _ = jax.random.split(state.key, 3)
  for alpha, same in ((1e-3, True), (10.0, False)):
    _, targets = sql.critic_loss(config, state.params.critic, state.target_critic,
                                 jnp.asarray(alpha), batch, k_value)
    assert np.isclose(float(metrics["target_mean"]), float(jnp.mean(targets)),
                      rtol=1e-5) == same, alpha
  assert float(metrics["alpha"]) == pytest.approx(1e-3)


def test_frozen_noise_set_limits_the_actions():
  """With `noise_count = n` the actions of one state take exactly the n values `tanh f(s, xi_i)`
  of the set's first n vectors; `update` lowers the count on schedule."""
  config = sql.Config(noise_set=4, noise_set_final=1, schedule_steps=3, **HIDDEN)
  state = sql.init(config, jax.random.key(0), 3, 2)
  assert state.params.noise.shape == (4, 2) and int(state.params.noise_count) == 4
  obs = jnp.ones(3)
  keys = jax.random.split(jax.random.key(1), 200)
  for n in (4, 2, 1):
    params = state.params.replace(noise_count=jnp.asarray(n, jnp.int32))
    actions = jax.vmap(lambda k: sql.act(config, params, obs, k))(keys)
    _, sampler = sql._nets(config, 2)
    allowed = jnp.tanh(sampler.apply(params.actor, jnp.broadcast_to(obs, (n, 3)),
                                     params.noise[:n]))
    distance = jnp.min(jnp.linalg.norm(actions[:, None] - allowed[None], axis=-1), axis=1)
    assert float(jnp.max(distance)) < 1e-6
    used = np.unique(np.asarray(jnp.argmin(jnp.linalg.norm(
        actions[:, None] - allowed[None], axis=-1), axis=1)))
    assert used.tolist() == list(range(n))
  batch = _batch(jax.random.key(2))
  counts = []
  for _ in range(4):
    state, _ = sql.update(config, state, batch)
    counts.append(int(state.params.noise_count))
  assert counts == [3, 2, 1, 1]


@pytest.mark.parametrize("agent,config", [(sql, sql.Config(noise_set=4, **HIDDEN)),
                                          (ddpg, ddpg.Config(**HIDDEN))])
def test_start_from_takes_networks_and_targets_keeps_the_rest(agent, config):
  fresh = agent.init(config, jax.random.key(0), 3, 2)
  saved = agent.init(config, jax.random.key(7), 3, 2).params
  state = base.start_from(fresh, saved)
  same = lambda a, b: all(jax.tree.leaves(jax.tree.map(lambda x, y: bool(jnp.all(x == y)), a, b)))
  for name in ("critic", "actor"):
    assert same(getattr(state.params, name), getattr(saved, name))
    assert not same(getattr(fresh.params, name), getattr(saved, name))
  assert same(state.target_critic, saved.critic)
  if agent is ddpg:
    assert same(state.target_actor, saved.actor)
  else:  # the fine-tuning run's own frozen noise set
    assert same(state.params.noise, fresh.params.noise)
  assert same(state.critic_opt_state, fresh.critic_opt_state) and state.key is fresh.key


@pytest.mark.parametrize("overrides,field", [
    ({"alpha_final": 0.0}, "alpha_final"), ({"noise_set": -1}, "noise_set"),
    ({"noise_set": 4, "noise_set_final": 5}, "noise_set_final"),
    ({"noise_set_final": 0}, "noise_set_final"), ({"schedule_steps": 0}, "schedule_steps")])
def test_schedule_configs_are_checked(overrides, field):
  with pytest.raises(ValueError, match=field):
    sql.Config(**overrides)
