"""Agent parts checked as values (float64 where it matters): S2AC's amortized sampler loss and
its gradient against a hand-written SVGD direction (§3.7 with §2.5–2.6), the sampler's Adam step
inside `update`, the bandwidth choice, a learning rate set in an optimizer state, a Config's
JSON round trip, the actions of SAC, DDPG and SQL in every mode (§3.8, §2.9, §2.7), and SAC's
and DDPG's updates as Adam steps on the online networks with distinct targets (§3.8, §2.8–2.9)."""

import dataclasses
import functools
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from softq import distributions, kernels, losses
from softq.agents import base, common, ddpg, s2ac, sac, sql
from softq.types import Transition

OBS, ACT, B, M = 3, 2, 4, 5


def _f64(tree):
  return jax.tree.map(lambda x: x.astype(jnp.float64) if x.dtype == jnp.float32 else x, tree)


def _config(bandwidth):
  return s2ac.Config(variant="amortized", alpha=0.6, critic_hidden=(8, 8), actor_hidden=(8,),
                     sampler_hidden=(8, 8), num_particles=M, batch_size=B, bandwidth=bandwidth,
                     learning_rate=0.01)


def _batch(key):
  """A float64 batch of `B` transitions, every other one terminal."""
  k = jax.random.split(key, 4)
  return Transition(
      obs=jax.random.normal(k[0], (B, OBS), jnp.float64),
      action=jax.random.uniform(k[1], (B, ACT), jnp.float64, -1, 1),
      reward=jax.random.normal(k[2], (B,), jnp.float64),
      next_obs=jax.random.normal(k[3], (B, OBS), jnp.float64),
      terminal=(jnp.arange(B) % 2).astype(jnp.float64), truncated=jnp.zeros(B, jnp.float64))


def _random_critic(params, key):
  """`params` with every critic weight drawn at random: the initial critic's output layer is
  zero, so both twins would agree and the action gradient vanish."""
  leaves, tree = jax.tree.flatten(params.critic)
  keys = jax.random.split(key, len(leaves))
  drawn = [0.5 * jax.random.normal(k, x.shape, x.dtype) for k, x in zip(keys, leaves)]
  return params.replace(critic=jax.tree.unflatten(tree, drawn))


def _hand_direction(u, score, h):
  """`phi(u_i) = (1/m) sum_j [k(u_j, u_i) g_j + (2/h) (u_i - u_j) k(u_j, u_i)]`, one set."""
  m = len(u)
  phi = np.zeros_like(u)
  for i in range(m):
    for j in range(m):
      k = math.exp(-np.sum((u[i] - u[j]) ** 2) / h)
      phi[i] += k * score[j] + (2.0 / h) * (u[i] - u[j]) * k
  return phi / m


def _median_rule(u):
  """`median_{i<j} ||u_i - u_j||^2 / log(m + 1)` (§2.4)."""
  m = len(u)
  pairs = [np.sum((u[i] - u[j]) ** 2) for i in range(m) for j in range(i + 1, m)]
  return float(np.median(pairs)) / math.log(m + 1)


@pytest.mark.parametrize("bandwidth", [0.8, "median"])
def test_sampler_loss_and_gradient_follow_the_svgd_direction_of_the_smaller_critic(
    x64, bandwidth):
  """Loss `-(1/B) sum <phi(u), u>` with `phi` the RBF SVGD direction toward
  `exp(min_j Q_j(s, tanh u)/alpha) |d tanh u / du|`, and gradient `-(1/B) (du/dpsi)^T phi`
  (the direction held fixed). Fails if the larger twin is used, the score loses its log-Jacobian
  or temperature, or the bandwidth is not the fixed value or the median rule."""
  config = _config(bandwidth)
  params = _random_critic(_f64(s2ac.init(config, jax.random.key(0), OBS, ACT)).params,
                          jax.random.key(5))
  k_obs, k_noise = jax.random.split(jax.random.key(1))
  obs = jax.random.normal(k_obs, (B, OBS), jnp.float64)
  noise = jax.random.normal(k_noise, (B, M, ACT), jnp.float64)
  alpha = jnp.asarray(0.6, jnp.float64)
  critic, _, sampler = s2ac._nets(config, ACT)
  obs_m = jnp.broadcast_to(obs[:, None], (B, M, OBS))

  def sample(sampler_params):
    return sampler.apply(sampler_params, obs_m, noise)

  def log_target(u):  # summed over the batch and particles; its gradient is each score
    q = jnp.min(critic.apply(params.critic, obs_m, jnp.tanh(u)), axis=0)
    return jnp.sum(q / 0.6) + jnp.sum(jnp.log(1.0 - jnp.tanh(u) ** 2))

  u, pullback = jax.vjp(sample, params.sampler)
  scores = np.asarray(jax.grad(log_target)(u))
  u = np.asarray(u)
  phi = np.stack([_hand_direction(u[b], scores[b],
                                  bandwidth if bandwidth != "median" else _median_rule(u[b]))
                  for b in range(B)])
  (want_grad,) = pullback(jnp.asarray(-phi / B))

  loss, grad = jax.jit(jax.value_and_grad(s2ac.sampler_loss, argnums=1), static_argnums=0)(
      config, params.sampler, params.critic, alpha, obs, noise)
  np.testing.assert_allclose(loss, -np.sum(phi * u) / B, rtol=1e-10)
  jax.tree.map(lambda g, w: np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12),
               grad, want_grad)


def test_amortized_update_takes_one_adam_step_on_the_sampler_loss(x64):
  """The sampler moves by Adam's step on the gradient of `sampler_loss` at the critic and
  temperature before the update, with fresh standard-normal noise from the state's key; the
  other variants leave the sampler alone."""
  config = _config("median")
  state = _f64(s2ac.init(config, jax.random.key(0), OBS, ACT))
  state = state.replace(alpha=jnp.asarray(config.alpha, jnp.float64),
                        params=_random_critic(state.params, jax.random.key(5)))
  batch = _batch(jax.random.key(2))
  new, metrics = jax.jit(s2ac.update, static_argnums=0)(config, state, batch)

  noise = jax.random.normal(jax.random.split(state.key, 4)[3], (B, M, ACT), jnp.float64)
  loss, grad = jax.value_and_grad(s2ac.sampler_loss, argnums=1)(
      config, state.params.sampler, state.params.critic, state.alpha, batch.obs, noise)
  step, _ = common.adam(config.learning_rate).update(grad, state.sampler_opt_state,
                                                     state.params.sampler)
  want = optax.apply_updates(state.params.sampler, step)
  np.testing.assert_allclose(metrics["sampler_loss"], loss, rtol=1e-10)
  jax.tree.map(lambda got, w: np.testing.assert_allclose(got, w, rtol=1e-9, atol=1e-12),
               new.params.sampler, want)
  moved = jax.tree.leaves(jax.tree.map(lambda a, b: jnp.max(jnp.abs(a - b)),
                                       new.params.sampler, state.params.sampler))
  assert max(moved) > 1e-4


def test_a_fixed_bandwidth_is_used_as_given_and_a_name_picks_its_rule():
  x = jax.random.normal(jax.random.key(0), (3, M, ACT))
  fixed = s2ac._bandwidth(_config(0.37), x)
  assert fixed.shape == (3,) and fixed.dtype == x.dtype
  np.testing.assert_array_equal(fixed, np.full(3, 0.37, np.float32))
  for rule in kernels.BANDWIDTHS:
    np.testing.assert_array_equal(s2ac._bandwidth(_config(rule), x), kernels.bandwidth(x, rule))


def test_a_learning_rate_set_in_the_state_scales_the_step_and_keeps_its_dtype():
  """`with_learning_rate(state, r)` makes the next step the step of `adam(r)`; a float64 value
  does not change the state's float32, and a `[R]` value sets one rate per run."""
  params = {"w": jnp.array([1.0, -2.0, 0.5])}
  grad = {"w": jnp.array([0.3, -1e-3, 2.0])}
  opt = common.adam(1e-3)
  state = opt.init(params)
  with jax.enable_x64(True):  # a float64 value meets a float32 state
    state = common.with_learning_rate(state, np.float64(0.05))
  assert state.hyperparams["learning_rate"].dtype == jnp.float32
  got, _ = opt.update(grad, state, params)
  want, _ = common.adam(0.05).update(grad, common.adam(0.05).init(params), params)
  np.testing.assert_allclose(got["w"], want["w"], rtol=1e-6)
  assert float(jnp.max(jnp.abs(got["w"]))) > 0.04
  runs = jax.vmap(opt.init)({"w": jnp.zeros((2, 3))})
  runs = common.with_learning_rate(runs, jnp.array([0.1, 0.2]))
  np.testing.assert_array_equal(runs.hyperparams["learning_rate"], np.array([0.1, 0.2],
                                                                            np.float32))


def test_a_config_survives_json_and_an_unknown_field_is_named():
  config = dataclasses.replace(_config(0.37), critic_hidden=(8, 4), eval_selection="max")
  values = json.loads(json.dumps(base.config_to_dict(config)))
  assert values["critic_hidden"] == [8, 4]
  assert base.config_from_dict(s2ac.Config, values) == config
  with pytest.raises(ValueError, match=r"^softq\.agents\.s2ac\.Config has no field 'bogus'$"):
    base.config_from_dict(s2ac.Config, {**values, "bogus": 1, "zzz": 2})


def test_sac_acts_by_its_modes_and_estimates_entropy_from_the_key():
  """"explore" / "random": `tanh(mu + sigma xi)` with `xi` drawn from the key, one per state
  (over two batch axes); "mean":
  `tanh(mu)`; "eval": the configured one; `entropy`: `-mean log pi` over `entropy_particles`
  draws; an unknown mode is named."""
  config = sac.Config(critic_hidden=(8,), actor_hidden=(8, 8), eval_mode="mean",
                      entropy_particles=7)
  params = sac.init(config, jax.random.key(0), OBS, ACT).params
  obs, key = jax.random.normal(jax.random.key(1), (2, B, OBS)), jax.random.key(2)
  _, actor = sac._nets(config, ACT)
  mean, std = actor.apply(params.actor, obs)
  drawn = jnp.tanh(mean + std * jax.random.normal(key, (2, B, ACT)))
  assert not np.allclose(drawn, jnp.tanh(mean), atol=1e-2)  # the modes differ
  for mode in ("explore", "random"):
    np.testing.assert_allclose(sac.act(config, params, obs, key, mode), drawn, rtol=1e-6)
  np.testing.assert_allclose(sac.act(config, params, obs, key), drawn, rtol=1e-6)  # "explore"
  np.testing.assert_allclose(sac.act(config, params, obs, key, "mean"), jnp.tanh(mean),
                             rtol=1e-6)
  np.testing.assert_allclose(sac.act(config, params, obs, key, "eval"), jnp.tanh(mean),
                             rtol=1e-6)
  random_eval = dataclasses.replace(config, eval_mode="random")
  np.testing.assert_allclose(sac.act(random_eval, params, obs, key, "eval"), drawn, rtol=1e-6)
  noise = jax.random.normal(key, (7, 2, B, ACT))
  log_probs = distributions.tanh_gaussian_log_prob(mean + std * noise, mean, std)
  np.testing.assert_allclose(sac.entropy(config, params, obs, key), -log_probs.mean(0),
                             rtol=1e-5)
  with pytest.raises(ValueError, match=r"^mode must be one of explore, eval, random, mean, "
                                       r"got 'max'$"):
    sac.act(config, params, obs, key, "max")


def test_ddpg_and_sql_act_with_their_actor_and_sampler():
  """DDPG: `mu(s)` in every mode; SQL: `tanh(f(s, xi))` with fresh `xi` drawn from the key."""
  obs, key = jax.random.normal(jax.random.key(1), (B, OBS)), jax.random.key(2)
  config = ddpg.Config(critic_hidden=(8,), actor_hidden=(8,))
  params = ddpg.init(config, jax.random.key(0), OBS, ACT).params
  mu = ddpg._nets(config, ACT)[1].apply(params.actor, obs)
  for mode in ("explore", "eval"):
    np.testing.assert_array_equal(ddpg.act(config, params, obs, key, mode), mu)
  config = sql.Config(critic_hidden=(8,), actor_hidden=(8,), kernel_particles=4,
                      value_particles=4)
  params = sql.init(config, jax.random.key(0), OBS, ACT).params
  sampler = sql._nets(config, ACT)[1]
  want = jnp.tanh(sampler.apply(params.actor, obs, jax.random.normal(key, (B, ACT))))
  for mode in ("explore", "eval"):
    np.testing.assert_allclose(sql.act(config, params, obs, key, mode), want, rtol=1e-6)


def test_sac_update_takes_adam_steps_on_the_online_networks_and_moves_the_target(x64):
  """Critic and actor move by Adam's step on the gradients of `critic_loss` (next actions from
  the state's key, the target critic distinct from the online one) and `actor_loss` with
  respect to the online networks; the target is `tau`-averaged toward the new critic."""
  config = sac.Config(critic_hidden=(8,), actor_hidden=(8,), tau=0.3, learning_rate=0.01,
                      batch_size=B)
  state = _f64(sac.init(config, jax.random.key(0), OBS, ACT))
  target = _random_critic(state.params, jax.random.key(6)).critic
  state = state.replace(params=_random_critic(state.params, jax.random.key(5)),
                        target_critic=target, alpha=jnp.asarray(0.2, jnp.float64))
  batch = _batch(jax.random.key(2))
  new, metrics = jax.jit(sac.update, static_argnums=0)(config, state, batch)

  params, opt = state.params, common.adam(config.learning_rate)
  _, k_next, k_now = jax.random.split(state.key, 3)
  c_loss, c_grad = jax.value_and_grad(sac.critic_loss, argnums=1)(
      config, params.critic, target, params.actor, state.alpha, batch,
      jax.random.normal(k_next, (B, ACT), jnp.float64))
  (a_loss, log_probs), a_grad = jax.value_and_grad(sac.actor_loss, argnums=1, has_aux=True)(
      config, params.actor, params.critic, state.alpha, batch.obs,
      jax.random.normal(k_now, (B, ACT), jnp.float64))
  c_step, critic_opt_state = opt.update(c_grad, state.critic_opt_state)
  a_step, actor_opt_state = opt.update(a_grad, state.actor_opt_state)
  critic = optax.apply_updates(params.critic, c_step)
  actor = optax.apply_updates(params.actor, a_step)
  close = functools.partial(np.testing.assert_allclose, rtol=1e-9, atol=1e-12)
  close(metrics["critic_loss"], c_loss)
  close(metrics["actor_loss"], a_loss)
  close(metrics["entropy"], -jnp.mean(log_probs))
  close(metrics["alpha"], 0.2)
  jax.tree.map(close, new.params.critic, critic)
  jax.tree.map(close, new.params.actor, actor)
  jax.tree.map(close, (new.critic_opt_state, new.actor_opt_state),
               (critic_opt_state, actor_opt_state))  # the next step continues these moments
  jax.tree.map(lambda got, t, c: close(got, 0.7 * t + 0.3 * c), new.target_critic, target,
               critic)
  assert int(new.step) == 1 and float(new.alpha) == 0.2
  jax.tree.map(np.testing.assert_array_equal, new.alpha_opt_state, state.alpha_opt_state)
  tuned, _ = jax.jit(sac.update, static_argnums=0)(
      dataclasses.replace(config, auto_alpha=True), state, batch)
  assert int(tuned.alpha_opt_state.count) == 1 and float(tuned.alpha) != 0.2
  np.testing.assert_array_equal(jax.random.key_data(new.key),
                                jax.random.key_data(jax.random.split(state.key, 3)[0]))


def test_ddpg_update_steps_each_network_with_its_own_rate_and_copies_targets_on_period(x64):
  """Critic: Adam (critic rate) on `ddpg_critic_loss` toward targets of the *target* actor and
  critic; actor: Adam (actor rate) on `ddpg_actor_loss` through the online critic before its
  step, with the penalty; targets move by `tau` only on steps that are multiples of the period."""
  config = ddpg.Config(critic_hidden=(8,), actor_hidden=(8,), critic_learning_rate=0.02,
                       actor_learning_rate=0.005, tau=0.4, target_update_period=2,
                       preactivation_penalty=0.3, discount=0.9, batch_size=B)
  state = _f64(ddpg.init(config, jax.random.key(0), OBS, ACT))
  target = _random_critic(state.params, jax.random.key(6))
  target_actor = _f64(ddpg.init(config, jax.random.key(7), OBS, ACT)).params.actor
  state = state.replace(params=_random_critic(state.params, jax.random.key(5)),
                        target_critic=target.critic, target_actor=target_actor)
  batch = _batch(jax.random.key(2))
  update = jax.jit(ddpg.update, static_argnums=0)
  assert np.float32(state.critic_opt_state.hyperparams["learning_rate"]) == np.float32(0.02)
  assert np.float32(state.actor_opt_state.hyperparams["learning_rate"]) == np.float32(0.005)

  q_net, actor = ddpg._nets(config, ACT)
  params = state.params
  targets = losses.ddpg_targets(
      batch.reward, q_net.apply(target.critic, batch.next_obs,
                                actor.apply(target_actor, batch.next_obs)),
      batch.terminal, 0.9)
  q_loss, q_grad = jax.value_and_grad(lambda q: losses.ddpg_critic_loss(
      q_net.apply(q, batch.obs, batch.action), targets))(params.critic)

  def actor_loss(a):
    action, pre = actor.apply(a, batch.obs, return_preactivation=True)
    return losses.ddpg_actor_loss(q_net.apply(params.critic, batch.obs, action), pre, 0.3)

  a_loss, a_grad = jax.value_and_grad(actor_loss)(params.actor)
  q_step, critic_opt_state = common.adam(0.02).update(q_grad, state.critic_opt_state)
  a_step, actor_opt_state = common.adam(0.005).update(a_grad, state.actor_opt_state)
  critic = optax.apply_updates(params.critic, q_step)
  moved_actor = optax.apply_updates(params.actor, a_step)
  close = functools.partial(np.testing.assert_allclose, rtol=1e-9, atol=1e-12)
  for step, due in ((0, False), (1, True)):
    new, metrics = update(config, state.replace(step=jnp.asarray(step, jnp.int32)), batch)
    close(metrics["critic_loss"], q_loss)
    close(metrics["actor_loss"], a_loss)
    close(metrics["target_mean"], jnp.mean(targets))
    jax.tree.map(close, new.params.critic, critic)
    jax.tree.map(close, new.params.actor, moved_actor)
    jax.tree.map(close, (new.critic_opt_state, new.actor_opt_state),
                 (critic_opt_state, actor_opt_state))
    weight = 0.4 if due else 0.0
    jax.tree.map(lambda got, t, o: close(got, (1 - weight) * t + weight * o),
                 (new.target_critic, new.target_actor), (target.critic, target_actor),
                 (critic, moved_actor))
