"""Every agent of `softq.agents.AGENTS` follows the protocol of `softq.agents.base`: at tiny sizes,
`init -> update -> act` (and `q_values`, `entropy` where present) run under `jax.jit` and
`jax.vmap` over 2 seeds with the expected shapes and finite metrics, `update` changes the
parameters, `Config` defaults validate and are frozen, and `SWEEPABLE` names real fields."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from softq import agents, replay
from softq.agents import base, discrete_common

SEEDS, OBS_SIZE, ACTION_SIZE, NUM_ACTIONS = 2, 3, 2, 3
BATCH, LENGTH, NUM_ENVS, NUM_OBS = 4, 3, 2, 5
# Small values for whichever of these fields an agent's Config has.
SMALL = {"batch_size": BATCH, "kernel_particles": 2, "value_particles": 2,
         "entropy_particles": 2, "num_particles": 2, "num_steps": 1}


def _tiny_config(agent):
  """`agent.Config` with every `hidden` / `*_hidden` width tuple `(8,)` and `SMALL` sizes (the
  field names are read from the dataclass, not assumed)."""
  names = {f.name for f in dataclasses.fields(agent.Config)}
  values = {n: (8,) for n in names if n == "hidden" or n.endswith("_hidden")}
  values.update({n: v for n, v in SMALL.items() if n in names})
  return agent.Config(**values)


def _action_size(agent) -> int:
  return ACTION_SIZE if agent.KIND == "continuous" else NUM_ACTIONS


def _batch(agent, key):
  """One update's batch per seed, leaves `[SEEDS, ...]`: a replay minibatch `[B, ...]`
  (continuous) or a rollout `[T, E, ...]` (discrete)."""
  k = jax.random.split(key, 6)
  if agent.KIND == "continuous":
    b = (SEEDS, BATCH)
    return replay.Transition(
        obs=jax.random.normal(k[0], b + (OBS_SIZE,)),
        action=jax.random.uniform(k[1], b + (ACTION_SIZE,), minval=-1.0, maxval=1.0),
        reward=jax.random.normal(k[2], b), next_obs=jax.random.normal(k[3], b + (OBS_SIZE,)),
        terminal=(jax.random.uniform(k[4], b) < 0.2).astype(jnp.float32),
        truncated=jnp.zeros(b))
  t = (SEEDS, LENGTH, NUM_ENVS)
  dones = (jax.random.uniform(k[4], t) < 0.3).astype(jnp.float32)
  return discrete_common.Rollout(
      obs=jax.random.normal(k[0], t + (OBS_SIZE,)),
      actions=jax.random.randint(k[1], t, 0, NUM_ACTIONS), rewards=jax.random.normal(k[2], t),
      terminals=dones * (jax.random.uniform(k[5], t) < 0.5), dones=dones,
      next_obs=jax.random.normal(k[3], t + (OBS_SIZE,)))


def _field_names(cls) -> set:
  return {f.name for f in dataclasses.fields(cls)}


def test_registry_holds_every_agent_once_by_kind():
  assert set(agents.AGENTS) == {"sql", "ddpg", "sac", "s2ac", "a2c", "soft_dqn", "matched"}
  assert set(agents.CONTINUOUS) | set(agents.DISCRETE) == set(agents.AGENTS)
  assert not set(agents.CONTINUOUS) & set(agents.DISCRETE)
  assert set(agents.DISCRETE) == {"a2c", "soft_dqn", "matched"}
  for name, agent in agents.AGENTS.items():
    assert base.check_agent(agent) is agent
    assert agent.KIND == ("discrete" if name in agents.DISCRETE else "continuous")


@pytest.mark.parametrize("name", sorted(agents.AGENTS))
def test_config_defaults_validate_and_are_frozen(name):
  agent = agents.AGENTS[name]
  config = agent.Config()
  field = dataclasses.fields(agent.Config)[0].name
  with pytest.raises(dataclasses.FrozenInstanceError):
    setattr(config, field, getattr(config, field))


@pytest.mark.parametrize("name", sorted(agents.AGENTS))
def test_sweepable_names_config_and_train_state_fields(name):
  agent = agents.AGENTS[name]
  state_fields = _field_names(agent.TrainState)
  assert {"params", "step"} <= state_fields
  for value_name, fields in agent.SWEEPABLE.items():
    assert value_name in _field_names(agent.Config), value_name
    assert fields and set(fields) <= state_fields, (value_name, fields)


@pytest.mark.parametrize("name", sorted(agents.AGENTS))
def test_init_update_act_under_jit_and_vmap(name):
  agent = agents.AGENTS[name]
  config = _tiny_config(agent)
  size = _action_size(agent)
  key_batch, key_obs, key_act = jax.random.split(jax.random.key(1), 3)
  keys = jax.random.split(jax.random.key(0), SEEDS)

  state = jax.jit(jax.vmap(lambda k: agent.init(config, k, OBS_SIZE, size)))(keys)
  new_state, metrics = jax.jit(jax.vmap(lambda s, b: agent.update(config, s, b)))(
      state, _batch(agent, key_batch))

  assert metrics
  for metric, value in metrics.items():
    assert value.shape == (SEEDS,), (metric, value.shape)
    assert np.all(np.isfinite(value)), metric
  before, after = jax.tree.leaves(state.params), jax.tree.leaves(new_state.params)
  assert len(before) == len(after)
  # Arrays of weights, not scalars such as soft DQN's ε, must change.
  assert any(np.ndim(a) and not np.array_equal(a, b) for a, b in zip(before, after)), (
      "update left the network parameters unchanged")

  obs = jax.random.normal(key_obs, (SEEDS, NUM_OBS, OBS_SIZE))
  act_keys = jax.random.split(key_act, SEEDS)
  for mode in ("explore", "eval"):
    actions = jax.jit(jax.vmap(lambda p, o, k, mode=mode: agent.act(config, p, o, k, mode)))(
        new_state.params, obs, act_keys)
    if agent.KIND == "continuous":
      assert actions.shape == (SEEDS, NUM_OBS, ACTION_SIZE), (mode, actions.shape)
      assert np.all(np.abs(actions) <= 1.0), mode
    else:
      assert actions.shape == (SEEDS, NUM_OBS), (mode, actions.shape)
      assert jnp.issubdtype(actions.dtype, jnp.integer), (mode, actions.dtype)
      assert np.all((actions >= 0) & (actions < NUM_ACTIONS)), mode

  q = jax.jit(jax.vmap(lambda p, o, a: agent.q_values(config, p, o, a)))(
      new_state.params, obs, actions)
  assert q.shape == (SEEDS, NUM_OBS) and np.all(np.isfinite(q))
  if hasattr(agent, "entropy"):
    entropy = jax.jit(jax.vmap(lambda p, o, k: agent.entropy(config, p, o, k)))(
        new_state.params, obs, act_keys)
    assert entropy.shape == (SEEDS, NUM_OBS) and np.all(np.isfinite(entropy))
