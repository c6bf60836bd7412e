"""softq.agents (SQL, DDPG): Config validation, SQL α / reward-scale equivalence (§2.1), shapes,
target copies, DDPG's pre-tanh penalty."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from softq import train
from softq.agents import ddpg, sql
from softq.replay import Transition

BAD_CONFIGS = [
    (sql.Config, {"alpha": 0.0}, "alpha"),
    (sql.Config, {"alpha": -1.0}, "alpha"),
    (sql.Config, {"kernel_particles": 1}, "kernel_particles"),
    (sql.Config, {"value_particles": 0}, "value_particles"),
    (sql.Config, {"batch_size": 0}, "batch_size"),
    (sql.Config, {"discount": 1.5}, "discount"),
    (sql.Config, {"critic_hidden": ()}, "critic_hidden"),
    (sql.Config, {"actor_hidden": (8, -1)}, "actor_hidden"),
    (sql.Config, {"exploration": "gauss"}, "exploration"),
    (sql.Config, {"ou_theta": 0.0}, "ou_theta"),
    (sql.Config, {"bandwidth": "silverman"}, "bandwidth"),
    (sql.Config, {"critic_learning_rate": 0.0}, "critic_learning_rate"),
    (sql.Config, {"target_update_period": 0}, "target_update_period"),
    (ddpg.Config, {"tau": 0.0}, "tau"),
    (ddpg.Config, {"batch_size": -2}, "batch_size"),
    (ddpg.Config, {"actor_learning_rate": 0.0}, "actor_learning_rate"),
    (ddpg.Config, {"critic_hidden": (64, 0)}, "critic_hidden"),
    (ddpg.Config, {"ou_sigma": -0.1}, "ou_sigma"),
    (ddpg.Config, {"preactivation_penalty": -1e-3}, "preactivation_penalty"),
    (train.LoopConfig, {"total_steps": 1000, "warmup_steps": 1000}, "warmup_steps"),
    (train.LoopConfig, {"total_steps": 0}, "total_steps"),
    (train.LoopConfig, {"total_steps": 1000, "chunk_steps": 300, "warmup_steps": 0},
     "chunk_steps"),
    (train.LoopConfig, {"total_steps": 1000, "warmup_actions": "gauss"}, "warmup_actions"),
    (train.LoopConfig, {"total_steps": 1000, "num_envs": 0}, "num_envs"),
]


@pytest.mark.parametrize("factory,kwargs,field", BAD_CONFIGS)
def test_configs_reject_bad_values_naming_the_field(factory, kwargs, field):
  if factory is train.LoopConfig:
    kwargs = {"warmup_steps": 10, **kwargs}
  with pytest.raises(ValueError, match=field):
    factory(**kwargs)


def _batch(key, b=16):
  k = jax.random.split(key, 4)
  return Transition(obs=jax.random.normal(k[0], (b, 3)),
                    action=jax.random.uniform(k[1], (b, 2), minval=-1, maxval=1),
                    reward=jax.random.normal(k[2], (b,)), next_obs=jax.random.normal(k[3], (b, 3)),
                    terminal=(jnp.arange(b) % 4 == 0).astype(jnp.float32),
                    truncated=(jnp.arange(b) % 4 == 1).astype(jnp.float32))


def _scale_output(q_params, factor):
  """Q parameters whose output is `factor` times the original (last Dense layer scaled)."""
  mlp = dict(q_params["params"]["QNetwork_0"]["MLP_0"] if "QNetwork_0" in q_params["params"]
             else q_params["params"]["MLP_0"])
  last = max(mlp, key=lambda n: int(n.split("_")[-1]))
  mlp[last] = jax.tree.map(lambda x: x * factor, mlp[last])
  return {"params": {"MLP_0": mlp}}


def test_alpha_explicit_equals_reward_scaled_sql(x64):
  """SQL(alpha, reward_scale=1) == SQL(1, reward_scale=1/alpha) with Q_ours = alpha Q_ref (§2.1).

  On the same data and noise: targets scale by alpha, critic losses by alpha^2, and the sampler
  (driven by grad Q / alpha) receives identical gradients and identical Adam updates.
  """
  alpha = 4.0
  ours_cfg = sql.Config(alpha=alpha, critic_hidden=(16, 16), actor_hidden=(16, 16),
                        kernel_particles=6, value_particles=9, batch_size=16)
  ref_cfg = sql.Config(alpha=1.0, reward_scale=1.0 / alpha, critic_hidden=(16, 16),
                       actor_hidden=(16, 16), kernel_particles=6, value_particles=9,
                       batch_size=16)
  ref = sql.init(ref_cfg, jax.random.key(0), 3, 2)
  ref = jax.tree.map(lambda x: x.astype(jnp.float64) if x.dtype == jnp.float32 else x, ref)
  scaled_q = _scale_output(ref.params.critic, alpha)
  ours = ref.replace(params=ref.params.replace(critic=scaled_q), target_critic=scaled_q,
                     alpha=jnp.asarray(alpha, jnp.float64))
  batch = jax.tree.map(lambda x: x.astype(jnp.float64), _batch(jax.random.key(1)))
  key = jax.random.key(2)

  loss_o, y_o = sql.critic_loss(ours_cfg, ours.params.critic, ours.target_critic, ours.alpha,
                                batch, key)
  loss_r, y_r = sql.critic_loss(ref_cfg, ref.params.critic, ref.target_critic, ref.alpha, batch,
                                key)
  np.testing.assert_allclose(y_o, alpha * y_r, rtol=1e-12)
  np.testing.assert_allclose(loss_o, alpha ** 2 * loss_r, rtol=1e-12)

  grad_o = jax.grad(lambda p: sql.actor_loss(ours_cfg, p, ours.params.critic, ours.alpha,
                                             batch.obs, key)[0])(ours.params.actor)
  grad_r = jax.grad(lambda p: sql.actor_loss(ref_cfg, p, ref.params.critic, ref.alpha,
                                             batch.obs, key)[0])(ref.params.actor)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12), grad_o,
               grad_r)

  new_o, _ = sql.update(ours_cfg, ours, batch)
  new_r, _ = sql.update(ref_cfg, ref, batch)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12),
               new_o.params.actor, new_r.params.actor)
  # ... and a wrong temperature (the reference code's missing alpha) would not match:
  wrong = sql.critic_loss(ours_cfg, ours.params.critic, ours.target_critic, 1.0, batch, key)[1]
  assert not np.allclose(wrong, alpha * y_r, rtol=1e-3)


@pytest.mark.parametrize("agent,config", [
    (sql, sql.Config(critic_hidden=(8,), actor_hidden=(8,), kernel_particles=4,
                     value_particles=3, batch_size=5)),
    (ddpg, ddpg.Config(critic_hidden=(8,), actor_hidden=(8,), batch_size=5)),
])
def test_update_and_act_shapes(agent, config):
  state = agent.init(config, jax.random.key(0), 3, 2)
  new_state, metrics = jax.jit(lambda s, b: agent.update(config, s, b))(
      state, _batch(jax.random.key(1), 5))
  assert int(new_state.step) == 1
  assert all(np.isfinite(v) for v in metrics.values())
  actions = agent.act(config, new_state.params, jnp.zeros((4, 7, 3)), jax.random.key(2))
  assert actions.shape == (4, 7, 2) and np.all(np.abs(actions) <= 1.0)


def test_sql_hard_target_copy_period():
  config = sql.Config(critic_hidden=(8,), actor_hidden=(8,), kernel_particles=4,
                      value_particles=3, batch_size=5, target_update_period=2)
  state = sql.init(config, jax.random.key(0), 3, 2)
  update = jax.jit(lambda s, b: sql.update(config, s, b)[0])
  one = update(state, _batch(jax.random.key(1), 5))
  leaf = lambda t: jax.tree.leaves(t)[0]
  # not yet copied after one step, copied at step 2
  np.testing.assert_array_equal(leaf(one.target_critic), leaf(state.params.critic))
  two = update(one, _batch(jax.random.key(2), 5))
  np.testing.assert_array_equal(leaf(two.target_critic), leaf(two.params.critic))


def test_ddpg_update_applies_the_preactivation_penalty():
  # An actor saturated at tanh(+-100) gets an exactly zero gradient from Q, so Adam leaves it
  # unchanged; with the Config's penalty the update pulls its output layer back.
  config = ddpg.Config(critic_hidden=(8,), actor_hidden=(8,), batch_size=16)
  state = ddpg.init(config, jax.random.key(0), 3, 2)
  actor = state.params.actor
  out = dict(actor["params"]["MLP_0"]["Dense_1"], bias=jnp.array([100.0, -100.0]))
  actor = {"params": {"MLP_0": {**actor["params"]["MLP_0"], "Dense_1": out}}}
  state = state.replace(params=state.params.replace(actor=actor))
  batch = _batch(jax.random.key(1))
  plain, _ = ddpg.update(config, state, batch)
  penalised, _ = ddpg.update(dataclasses.replace(config, preactivation_penalty=1e-3), state, batch)
  bias = lambda s: s.params.actor["params"]["MLP_0"]["Dense_1"]["bias"]
  np.testing.assert_array_equal(bias(plain), [100.0, -100.0])
  moved = bias(penalised) - jnp.array([100.0, -100.0])
  assert moved[0] < 0 < moved[1]
