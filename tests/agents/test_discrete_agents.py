"""The discrete §6 agents: their targets and losses (§6.2–§6.3, float64, against brute force),
the soft Q they report (§6.1, §6.5), the matched learner's expected gradient against proper
A2C's (§6.5, exact over actions), the target-network period and config validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from softq import losses
from softq.agents import a2c
from softq.agents import discrete_common
from softq.agents import matched
from softq.agents import soft_dqn

TOL = 1e-6


def _rollout(key, length=7, width=3, with_ends=True):
  kr, kk, kv, kt, kd, k0 = jax.random.split(key, 6)
  rewards = jax.random.normal(kr, (length, width), jnp.float64)
  kls = jnp.abs(jax.random.normal(kk, (length, width), jnp.float64))
  next_values = jax.random.normal(kv, (length, width), jnp.float64)
  dones = (jax.random.uniform(kd, (length, width)) < 0.3) * with_ends
  terminals = dones * (jax.random.uniform(kt, (length, width)) < 0.5)
  first_value = jax.random.normal(k0, (width,), jnp.float64)
  return rewards, kls, next_values, terminals.astype(jnp.float64), dones.astype(jnp.float64), \
      first_value


def _brute_force_targets(rewards, kls, next_values, terminals, dones, discount, tau, n_steps):
  """Eq. 46 with a plain loop per (t, env)."""
  length, width = rewards.shape
  out = np.zeros((length, width))
  for e in range(width):
    for t in range(length):
      y = tau * kls[t, e]
      for d in range(n_steps or length):
        k = t + d
        y += discount**d * (rewards[k, e] - tau * kls[k, e])
        if dones[k, e] or k == length - 1 or d == (n_steps or length) - 1:
          y += discount ** (d + 1) * (1.0 - terminals[k, e]) * next_values[k, e]
          break
      out[t, e] = y
  return out


@pytest.mark.parametrize("n_steps", [1, 3, None])
def test_n_step_targets_match_brute_force_with_episode_ends(x64, n_steps):
  rewards, kls, next_values, terminals, dones, _ = _rollout(jax.random.key(3))
  assert float(jnp.sum(dones)) > 0 and float(jnp.sum(dones - terminals)) > 0
  got = losses.soft_n_step_targets(rewards, kls, next_values, terminals, dones, 0.9, 0.3, n_steps)
  want = _brute_force_targets(*map(np.asarray, (rewards, kls, next_values, terminals, dones)),
                              0.9, 0.3, n_steps)
  np.testing.assert_allclose(got, want, atol=TOL, rtol=0)


@pytest.mark.parametrize("n_steps", [1, 4, None])
def test_n_step_target_forms_eq46_eq47_agree(x64, n_steps):
  """`y_t = τKL_t + V(s_t) + Σ_{d<h} γ^d δ_{t+d}` (Eq. 47) equals Eq. 46 within an episode."""
  rewards, kls, next_values, terminals, dones, first_value = _rollout(
      jax.random.key(4), with_ends=False)
  discount, tau = 0.95, 0.2
  values = jnp.concatenate([first_value[None], next_values[:-1]])      # V(s_t)
  deltas = rewards - tau * kls + discount * next_values - values         # Eq. 36
  length = rewards.shape[0]
  horizon = n_steps or length
  eq47 = jnp.stack([
      tau * kls[t] + values[t] + sum(discount**d * deltas[t + d]
                                     for d in range(min(horizon, length - t)))
      for t in range(length)])
  eq46 = losses.soft_n_step_targets(rewards, kls, next_values, terminals, dones, discount, tau,
                                    n_steps)
  np.testing.assert_allclose(eq46, eq47, atol=TOL, rtol=0)
  returns = losses.entropy_regularised_returns(rewards, kls, next_values, terminals, dones,
                                               discount, tau, n_steps)
  np.testing.assert_allclose(returns, eq47 - tau * kls, atol=TOL, rtol=0)


@pytest.mark.parametrize("convention", [None, 0.0])
def test_soft_targets_tend_to_hard_targets(x64, convention):
  """As τ → 0, soft n-step targets (KL or entropy convention) → `Σ γ^d r + γ^n max Q̄`."""
  key_q, key_r = jax.random.split(jax.random.key(5))
  length, width, num_actions, discount = 6, 2, 4, 0.9
  q_next = jax.random.normal(key_q, (length, width, num_actions), jnp.float64)
  q_now = jnp.concatenate([jax.random.normal(key_r, (1, width, num_actions)), q_next[:-1]])
  rewards = jax.random.normal(key_r, (length, width), jnp.float64)
  zeros = jnp.zeros_like(rewards)
  hard = losses.soft_n_step_targets(rewards, zeros, jnp.max(q_next, -1), zeros, zeros,
                                    discount, 0.0, 3)
  errors = []
  for tau in (1e-1, 1e-3, 1e-5):
    kls = losses.relative_entropy(losses.boltzmann_policy(q_now, tau), convention)
    values = losses.discrete_soft_value(q_next, tau, convention)
    soft = losses.soft_n_step_targets(rewards, kls, values, zeros, zeros, discount, tau, 3)
    errors.append(float(jnp.max(jnp.abs(soft - hard))))
    assert errors[-1] <= 4 * tau * np.log(num_actions) * 3 + 1e-12
  assert errors[-1] < 1e-4 < errors[0]


@pytest.mark.parametrize("reference,n_steps", [(None, None), ("skewed", 2)])
def test_naive_and_proper_pg_losses(x64, reference, n_steps):
  """Proper = naive with KL penalties inside the returns; both differ only there (Eq. 79–80).
  Checked against brute force with the uniform reference to the end of the rollout, and with a
  skewed reference `π̄ = (0.6, 0.3, 0.1)` and 2-step returns (both must reach the KL and the
  returns)."""
  key = jax.random.key(6)
  rewards, _, next_values, terminals, dones, _ = _rollout(key)
  logits = jax.random.normal(key, rewards.shape + (3,), jnp.float64)
  actions = jax.random.randint(key, rewards.shape, 0, 3)
  values = 0.5 * next_values
  log_pi = jax.nn.log_softmax(logits)
  log_reference = None if reference is None else jnp.log(jnp.array([0.6, 0.3, 0.1]))
  args = (values, rewards, next_values, terminals, dones, 0.9, 0.3, log_reference, n_steps)
  naive = losses.naive_pg_loss(log_pi, actions, *args)
  proper = losses.proper_pg_loss(log_pi, actions, *args)
  probs = np.exp(np.asarray(log_pi))
  reference_logs = (np.full(3, -np.log(3.0)) if log_reference is None
                    else np.asarray(log_reference))
  kls = jnp.asarray(np.sum(probs * (np.asarray(log_pi) - reference_logs), axis=-1))
  taken = jnp.asarray(np.take_along_axis(np.asarray(log_pi), np.asarray(actions)[..., None],
                                         -1)[..., 0])
  for loss, kl_in_return in ((naive, jnp.zeros_like(kls)), (proper, kls)):
    returns = _brute_force_targets(*map(np.asarray, (rewards, kl_in_return, next_values,
                                                     terminals, dones)), 0.9, 0.3, n_steps)
    returns = returns - 0.3 * np.asarray(kl_in_return)
    want = jnp.mean(-taken * (returns - values) + 0.3 * kls)
    np.testing.assert_allclose(loss, want, atol=TOL, rtol=0)
  np.testing.assert_allclose(losses.a2c_value_loss(values, next_values),
                             0.5 * jnp.mean((values - next_values) ** 2), atol=TOL, rtol=0)


@pytest.mark.parametrize("make,message", [
    (lambda: a2c.Config(estimator="fancy"), "estimator"),
    (lambda: a2c.Config(tau=0.0), "tau"),
    (lambda: soft_dqn.Config(backup="max"), "backup"),
    (lambda: soft_dqn.Config(epsilon_end=1.5), "epsilon_end"),
    (lambda: soft_dqn.Config(target_update_period=0), "target_update_period"),
    (lambda: matched.Config(discount=1.5), "discount"),
    (lambda: matched.Config(hidden=()), "hidden"),
])
def test_configs_reject_bad_values(make, message):
  with pytest.raises(ValueError, match=message):
    make()


def _random_rollout(key, length=4, width=3, obs_size=5, num_actions=3):
  ko, ka, kr, kd, kn = jax.random.split(key, 5)
  dones = (jax.random.uniform(kd, (length, width)) < 0.3).astype(jnp.float32)
  return discrete_common.Rollout(
      jax.random.normal(ko, (length, width, obs_size)),
      jax.random.randint(ka, (length, width), 0, num_actions),
      jax.random.normal(kr, (length, width)), dones, dones,
      jax.random.normal(kn, (length, width, obs_size)))


@pytest.mark.parametrize("agent,config", [
    (a2c, a2c.Config(hidden=(8,), tau=0.3)),
    (matched, matched.Config(hidden=(8,), tau=0.3)),
])
def test_policy_agents_report_the_soft_q_of_their_policy(agent, config):
  """`Q = V + τ log(π/π̄)`: its Boltzmann policy is `π` and its soft value the value head V."""
  num_actions, obs = 3, jax.random.normal(jax.random.key(0), (6, 5))
  state = agent.init(config, jax.random.key(1), 5, num_actions)
  q = jnp.stack([agent.q_values(config, state.params, obs, jnp.full((6,), a))
                 for a in range(num_actions)], axis=-1)
  logits, values = a2c.network(config, num_actions).apply(state.params.actor_critic, obs)
  np.testing.assert_allclose(losses.boltzmann_policy(q, config.tau),
                             jax.nn.log_softmax(logits), atol=1e-5)
  np.testing.assert_allclose(losses.discrete_soft_value(q, config.tau), values, atol=1e-5)


def test_soft_dqn_copies_its_target_every_target_update_period():
  config = soft_dqn.Config(hidden=(8,), target_update_period=3)
  rollout = _random_rollout(jax.random.key(2))
  state = soft_dqn.init(config, jax.random.key(3), 5, 3)
  update = jax.jit(lambda s: soft_dqn.update(config, s, rollout))
  first = state.target_critic
  for step in range(1, 7):
    state, metrics = update(state)
    copied = jax.tree.leaves(state.target_critic)[0]
    if step % 3:
      assert not np.array_equal(copied, jax.tree.leaves(state.params.critic)[0])
    else:
      np.testing.assert_array_equal(copied, jax.tree.leaves(state.params.critic)[0])
    np.testing.assert_allclose(state.params.epsilon, metrics["epsilon"])
  assert not np.array_equal(jax.tree.leaves(first)[0], jax.tree.leaves(state.target_critic)[0])


@pytest.mark.parametrize("agent", [a2c, soft_dqn, matched])
def test_eval_mode_is_greedy_and_unknown_modes_are_rejected(agent):
  config = agent.Config(hidden=(8,))
  state = agent.init(config, jax.random.key(4), 5, 3)
  obs = jax.random.normal(jax.random.key(5), (10, 5))
  actions = [agent.act(config, state.params, obs, jax.random.key(k), "eval") for k in range(3)]
  for other in actions[1:]:
    np.testing.assert_array_equal(actions[0], other)
  with pytest.raises(ValueError, match="mode"):
    agent.act(config, state.params, obs, jax.random.key(0), "greedy")


def _one_step_rollouts(key, obs_size, num_actions):
  """One state `s` and, for each action `a`, the rollout `[T=1, E=1]` taking `a` there, with a
  reward and successor of its own; the last action terminates the episode."""
  ks, kr, kn = jax.random.split(key, 3)
  state = jax.random.normal(ks, (obs_size,), jnp.float64)
  rewards = jax.random.normal(kr, (num_actions,), jnp.float64)
  next_obs = jax.random.normal(kn, (num_actions, obs_size), jnp.float64)
  ends = (jnp.arange(num_actions) == num_actions - 1).astype(jnp.float64)
  return state, [discrete_common.Rollout(
      state[None, None], jnp.full((1, 1), a), rewards[a][None, None], ends[a][None, None],
      ends[a][None, None], next_obs[a][None, None]) for a in range(num_actions)]


@pytest.mark.parametrize("scaled", [True, False])
def test_matched_learner_expected_gradient_is_proper_a2c(x64, scaled):
  """Exact expectation over actions at one state, `Σ_a π(a|s) ∇ loss(s, a)` (float64): the
  matched soft-Q learner's loss gradient (advantage stream ×1/τ, value stream ×0.5) equals proper
  entropy-regularised A2C's with value weight 0.5; unscaled, it is τ times A2C's with value
  weight 1/τ (§6.4–§6.5). The policy is far from uniform and τ = 0.3.

  Fails if the two gradient scales are swapped or wrong, or the learner's targets are not the
  soft n-step targets that make the identity hold."""
  num_actions, obs_size, tau = 3, 4, 0.3
  config = matched.Config(hidden=(5,), tau=tau, discount=0.9, scaled=scaled)
  state = matched.init(config, jax.random.key(0), obs_size, num_actions)
  leaves, tree = jax.tree.flatten(state.params.actor_critic)
  keys = jax.random.split(jax.random.key(1), len(leaves))
  params = jax.tree.unflatten(tree, [jax.random.normal(k, x.shape, jnp.float64)
                                     for k, x in zip(keys, leaves)])
  state_obs, rollouts = _one_step_rollouts(jax.random.key(2), obs_size, num_actions)
  logits, _ = a2c.network(a2c.Config(hidden=(5,)), num_actions).apply(params, state_obs)
  probs = np.asarray(jax.nn.softmax(logits))
  assert probs.max() > 2 * probs.min()

  value_coef = 0.5 if scaled else 1.0 / tau
  a2c_config = a2c.Config(tau=tau, discount=0.9, hidden=(5,), estimator="proper",
                          value_coef=value_coef)
  matched_grad = jax.jit(jax.grad(matched.loss, argnums=1), static_argnums=(0, 3))
  a2c_grad = jax.jit(jax.grad(lambda c, p, r, n: a2c.loss(c, p, r, n)[0], argnums=1),
                     static_argnums=(0, 3))

  def expectation(grad_fn, cfg):
    grads = [grad_fn(cfg, params, rollout, num_actions) for rollout in rollouts]
    return jax.tree.map(lambda *g: sum(p * x for p, x in zip(probs, g)), *grads)

  got = expectation(matched_grad, config)
  want = jax.tree.map(lambda g: (1.0 if scaled else tau) * g, expectation(a2c_grad, a2c_config))
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12), got, want)
  # Per action the two differ: only the expectation matches.
  single = matched_grad(config, params, rollouts[0], num_actions)
  single_a2c = a2c_grad(a2c_config, params, rollouts[0], num_actions)
  assert not np.allclose(jax.tree.leaves(single)[0],
                         (1.0 if scaled else tau) * jax.tree.leaves(single_a2c)[0], rtol=1e-3)
