"""Critic targets and the automatic temperature checked as values against hand computations
(float64): SQL's importance-sampled soft value through the target critic (§2.1–2.2), DDPG's
target through the target actor and target critic (§2.9), and the direction of SAC's and S2AC's
automatic α step (§3.8) on both sides of the target entropy."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from softq.agents import ddpg, s2ac, sac, sql
from softq.replay import Transition

OBS, ACT, B = 3, 2, 16


def _f64(tree):
  return jax.tree.map(lambda x: x.astype(jnp.float64) if x.dtype == jnp.float32 else x, tree)


def _batch(key):
  k = jax.random.split(key, 4)
  return _f64(Transition(
      obs=jax.random.normal(k[0], (B, OBS)),
      action=jax.random.uniform(k[1], (B, ACT), minval=-1, maxval=1),
      reward=jax.random.normal(k[2], (B,)), next_obs=jax.random.normal(k[3], (B, OBS)),
      terminal=(jnp.arange(B) % 4 == 0).astype(jnp.float32),
      truncated=(jnp.arange(B) % 4 == 1).astype(jnp.float32)))


SQL_CONFIG = sql.Config(alpha=0.7, reward_scale=1.3, discount=0.9, critic_hidden=(8, 8),
                        actor_hidden=(8, 8), kernel_particles=4, value_particles=7,
                        batch_size=B)


def _sql_state():
  state = _f64(sql.init(SQL_CONFIG, jax.random.key(0), OBS, ACT))
  return state.replace(alpha=jnp.asarray(SQL_CONFIG.alpha, jnp.float64))


_sql_q_values = jax.jit(sql.q_values, static_argnums=0)


def _sql_q(params, obs, action):
  return np.asarray(_sql_q_values(SQL_CONFIG, params, obs, action))


def test_sql_critic_targets_are_the_importance_sampled_soft_value_of_the_target_critic(x64):
  """`y = c r + γ (1 − terminal) α [logsumexp_k(Q̄(s', a_k)/α + d log 2) − log K_V]` with
  `a_k` the uniform proposals drawn from the key passed in, and `Q̄` the *target* critic.

  Fails if the targets use the online critic (or any other value than §2.1–2.2's) or the loss
  is not `½ mean (Q(s, a) − y)²` of the online critic."""
  state = _sql_state()
  online = state.params
  target = online.replace(critic=_f64(sql.init(SQL_CONFIG, jax.random.key(1), OBS, ACT)
                                      ).params.critic)
  batch, key = _batch(jax.random.key(2)), jax.random.key(3)
  loss, targets = jax.jit(sql.critic_loss, static_argnums=0)(
      SQL_CONFIG, online.critic, target.critic, state.alpha, batch, key)

  k = SQL_CONFIG.value_particles
  proposal = jax.random.uniform(key, (B, k, ACT), minval=-1.0, maxval=1.0)
  assert proposal.dtype == jnp.float64
  next_obs = jnp.broadcast_to(batch.next_obs[:, None], (B, k, OBS))
  alpha, gamma, scale = 0.7, 0.9, 1.3
  reward, not_done = np.asarray(batch.reward), 1.0 - np.asarray(batch.terminal)

  def hand_targets(params):
    q = _sql_q(params, next_obs, proposal)
    value = alpha * (special.logsumexp(q / alpha + ACT * math.log(2.0), axis=-1) - math.log(k))
    return scale * reward + gamma * not_done * value

  want = hand_targets(target)
  np.testing.assert_allclose(targets, want, rtol=1e-12, atol=1e-12)
  q_now = _sql_q(online, batch.obs, batch.action)
  np.testing.assert_allclose(loss, 0.5 * np.mean((q_now - want) ** 2), rtol=1e-12)
  # The two critics differ enough that using the online one could not pass.
  assert np.max(np.abs(hand_targets(online) - want)) > 1e-2


def test_sql_update_bootstraps_from_the_target_critic(x64):
  """`sql.update` passes the target critic to the soft value: with a target critic that ignores
  the action, `V̄(s') = Q̄(s', ·) + α d log 2` exactly for any proposals, so the reported
  `target_mean` and `critic_loss` are known in closed form.

  Fails if the update's targets come from the online critic."""
  state = _sql_state()
  other = _f64(sql.init(SQL_CONFIG, jax.random.key(1), OBS, ACT)).params.critic
  first = other["params"]["MLP_0"]["Dense_0"]
  flat = first["kernel"].at[OBS:].set(0.0)  # rows of the action inputs: Q̄ ignores the action
  mlp = {**other["params"]["MLP_0"], "Dense_0": {**first, "kernel": flat}}
  target = {"params": {**other["params"], "MLP_0": mlp}}
  state = state.replace(target_critic=target)
  batch = _batch(jax.random.key(2))
  _, metrics = jax.jit(lambda s, b: sql.update(SQL_CONFIG, s, b))(state, batch)

  some_action = jnp.zeros((B, ACT))
  v_next = _sql_q(state.params.replace(critic=target), batch.next_obs, some_action) + (
      0.7 * ACT * math.log(2.0))
  want = 1.3 * np.asarray(batch.reward) + 0.9 * (1.0 - np.asarray(batch.terminal)) * v_next
  q_now = _sql_q(state.params, batch.obs, batch.action)
  np.testing.assert_allclose(metrics["target_mean"], np.mean(want), rtol=1e-12)
  np.testing.assert_allclose(metrics["critic_loss"], 0.5 * np.mean((q_now - want) ** 2),
                             rtol=1e-12)


DDPG_CONFIG = ddpg.Config(discount=0.9, critic_hidden=(8, 8), actor_hidden=(8, 8), batch_size=B)


def test_ddpg_targets_use_the_target_actor_and_target_critic(x64):
  """`y = r + γ (1 − terminal) Q̄(s', μ̄(s'))` (§2.9) with target copies that differ from the
  online networks; the update's `target_mean` and `critic_loss` (`½ mean (Q(s, a) − y)²`) equal
  the hand computation.

  Fails if the target action comes from the online actor (or the target value from the online
  critic)."""
  state = _f64(ddpg.init(DDPG_CONFIG, jax.random.key(0), OBS, ACT))
  target_critic = _f64(ddpg.init(DDPG_CONFIG, jax.random.key(1), OBS, ACT)).params.critic
  target_actor = _f64(ddpg.init(DDPG_CONFIG, jax.random.key(2), OBS, ACT)).params.actor
  state = state.replace(target_critic=target_critic, target_actor=target_actor)
  batch = _batch(jax.random.key(3))
  _, metrics = jax.jit(lambda s, b: ddpg.update(DDPG_CONFIG, s, b))(state, batch)

  params = state.params
  reward, not_done = np.asarray(batch.reward), 1.0 - np.asarray(batch.terminal)

  def hand_targets(critic, actor):
    next_action = ddpg.act(DDPG_CONFIG, params.replace(actor=actor), batch.next_obs, None)
    next_q = ddpg.q_values(DDPG_CONFIG, params.replace(critic=critic), batch.next_obs,
                           next_action)
    return reward + 0.9 * not_done * np.asarray(next_q)

  want = hand_targets(target_critic, target_actor)
  q_now = np.asarray(ddpg.q_values(DDPG_CONFIG, params, batch.obs, batch.action))
  np.testing.assert_allclose(metrics["target_mean"], np.mean(want), rtol=1e-12)
  np.testing.assert_allclose(metrics["critic_loss"], 0.5 * np.mean((q_now - want) ** 2),
                             rtol=1e-12)
  # Online and target networks differ enough for each wrong choice to show in the mean.
  for wrong in (hand_targets(target_critic, params.actor), hand_targets(params.critic,
                                                                        target_actor)):
    assert abs(np.mean(wrong) - np.mean(want)) > 1e-3


TINY = dict(critic_hidden=(8, 8), actor_hidden=(8, 8))
ALPHA_AGENTS = [
    (sac, sac.Config(auto_alpha=True, target_entropy=-4.0, learning_rate=0.01, batch_size=B,
                     **TINY)),
    # No SVGD steps: the temperature step is what is checked, and it compiles much faster.
    (s2ac, s2ac.Config(auto_alpha=True, target_entropy=-4.0, learning_rate=0.01, batch_size=B,
                       num_particles=3, num_steps=0, **TINY)),
]


def _with_log_std(actor, log_std):
  """The Gaussian policy net with its `log σ` output fixed to `log_std` at every state."""
  mlp = actor["params"]["MLP_0"]
  name = max(mlp, key=lambda n: int(n.split("_")[-1]))
  kernel, bias = mlp[name]["kernel"], mlp[name]["bias"]
  last = {"kernel": kernel.at[:, ACT:].set(0.0), "bias": bias.at[ACT:].set(log_std)}
  return {"params": {"MLP_0": {**mlp, name: last}}}


@pytest.mark.parametrize("agent,config", ALPHA_AGENTS, ids=["sac", "s2ac"])
def test_automatic_alpha_rises_below_and_falls_above_the_target_entropy(x64, agent, config):
  """With `auto_alpha` and `target_entropy = −4`, one update moves `log α` by Adam's first step:
  `+lr` for a policy with `σ = e^{−6}` (entropy about −9, below the target) and `−lr` for one
  with `σ = 1` (entropy about 1, above it) (§3.8). The entropies are measured first with the
  agent's own `entropy`.

  Fails if the temperature step has the wrong sign (α rising when the entropy is too high, or
  falling when it is too low) or size, or if `auto_alpha` leaves α unchanged."""
  state = _f64(agent.init(config, jax.random.key(0), OBS, ACT))
  batch = _batch(jax.random.key(1))
  entropy = jax.jit(agent.entropy, static_argnums=0)
  update = jax.jit(agent.update, static_argnums=0)
  alpha0 = float(state.alpha)
  for log_std, direction in ((-6.0, +1.0), (0.0, -1.0)):
    actor = _with_log_std(state.params.actor, log_std)
    start = state.replace(params=state.params.replace(actor=actor))
    measured = float(jnp.mean(entropy(config, start.params, batch.obs, jax.random.key(2))))
    assert direction * (config.target_entropy - measured) > 3.0, measured
    new_state, metrics = update(config, start, batch)
    step = math.log(float(new_state.alpha) / alpha0)
    np.testing.assert_allclose(step, direction * config.learning_rate, rtol=1e-6)
    np.testing.assert_allclose(metrics["alpha"], new_state.alpha, rtol=1e-15)
