"""MaxEnt IRL inference (§5.2): brute-force enumeration, D = ∇_r log Z, stability, errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import softq.irl
from softq.irl import baselines
from softq.irl import inference
from softq.irl import paths
from softq.irl import prediction

HORIZON = 5
NUM_STATES = 6
NUM_EDGES = 12


def random_graph(seed, acyclic):
  """12 random transitions on 6 states (a DAG: only i -> j > i), rewards and edge rewards.

  A fixed edge count keeps one compiled program per function across all test graphs.
  """
  rng = np.random.default_rng(seed)
  pairs = np.array([(a, b) for a in range(NUM_STATES) for b in range(NUM_STATES)
                    if a != b and (b > a or not acyclic)])
  src, dst = pairs[rng.choice(len(pairs), NUM_EDGES, replace=False)].T
  return src, dst, rng.normal(size=NUM_STATES), 0.5 * rng.normal(size=NUM_EDGES)


def enumerate_paths(src, dst, reward, edge_reward, origin, destination, horizon):
  """All paths origin -> destination (absorbing) with <= horizon transitions: (states, edges, w)."""
  found = []

  def extend(states, edges, weight):
    if states[-1] == destination:
      found.append((states, edges, weight))
      return
    if len(edges) == horizon:
      return
    for e in np.flatnonzero(src == states[-1]):
      extend(states + [int(dst[e])], edges + [int(e)], weight + reward[dst[e]] + edge_reward[e])

  extend([origin], [], reward[origin])
  return found


def brute_log_z(found):
  if not found:
    return -math.inf
  weights = np.array([w for _, _, w in found])
  return float(weights.max() + np.log(np.exp(weights - weights.max()).sum()))


CASES = [(seed, acyclic) for seed in range(3) for acyclic in (True, False)]


@pytest.mark.parametrize("seed,acyclic", CASES)
def test_log_partition_counts_and_path_probs_equal_brute_force(x64, seed, acyclic):
  src, dst, reward, edge_reward = random_graph(seed, acyclic)
  destination = NUM_STATES - 1
  log_z = softq.irl.log_partition(src, dst, reward, destination, HORIZON, edge_reward=edge_reward)
  for origin in range(NUM_STATES):
    found = enumerate_paths(src, dst, reward, edge_reward, origin, destination, HORIZON)
    expected = brute_log_z(found)
    if expected == -math.inf:
      assert log_z[origin] == -jnp.inf
      continue
    np.testing.assert_allclose(log_z[origin], expected, rtol=0, atol=1e-9)
    visits, uses = softq.irl.expected_counts(src, dst, reward, origin, destination, HORIZON,
                                             edge_reward=edge_reward)
    brute_visits, brute_uses = np.zeros(NUM_STATES), np.zeros(len(src))
    for states, edges, weight in found:
      np.add.at(brute_visits, states, math.exp(weight - expected))
      np.add.at(brute_uses, edges, math.exp(weight - expected))
      log_p = softq.irl.path_log_prob(src, dst, reward, np.array(states), HORIZON,
                                      edge_reward=edge_reward)
      np.testing.assert_allclose(log_p, weight - expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(visits, brute_visits, rtol=0, atol=1e-9)
    np.testing.assert_allclose(uses, brute_uses, rtol=0, atol=1e-9)


@pytest.mark.parametrize("acyclic", [True, False])
def test_expected_counts_equal_gradient_of_log_partition(x64, acyclic):
  src, dst, reward, edge_reward = random_graph(7, acyclic)
  origin, destination = 0, NUM_STATES - 1
  grad_r, grad_w = jax.grad(
      lambda r, w: softq.irl.log_partition(src, dst, r, destination, HORIZON, edge_reward=w)[
          origin], argnums=(0, 1))(jnp.asarray(reward), jnp.asarray(edge_reward))
  visits, uses = softq.irl.expected_counts(src, dst, reward, origin, destination, HORIZON,
                                           edge_reward=edge_reward)
  np.testing.assert_allclose(visits, grad_r, rtol=0, atol=1e-12)
  np.testing.assert_allclose(uses, grad_w, rtol=0, atol=1e-12)
  assert visits[destination] == pytest.approx(1.0, abs=1e-12)
  assert np.all(np.isfinite(grad_r)) and np.all(np.isfinite(grad_w))


def test_checkpointed_counts_equal_the_time_indexed_forward_pass(x64):
  """`counts_core` regenerates the backward iterates in blocks of ceil(sqrt(horizon)) instead of
  storing all of them: the same visits, uses and log Z as `history_core` + `forward_core`, for
  horizons that are squares, one past a square, and neither (partial last block)."""
  from softq.irl import inference
  src, dst, reward, edge_reward = (jnp.asarray(a) for a in random_graph(4, False))
  start = jnp.asarray([0.5, 2.0, 0.0, 1.0, 0.25, 0.0])
  counts = jax.jit(inference.counts_core, static_argnames="horizon")
  for horizon in (1, 2, 4, 9, 10, 16, 23):
    history = inference.history_core(src, dst, reward, edge_reward, 5, horizon)
    visits, uses = inference.forward_core(src, dst, reward, edge_reward, history, 5, start)
    got_visits, got_uses, log_z = counts(src, dst, reward, edge_reward, 5, start, horizon)
    np.testing.assert_allclose(got_visits, visits, rtol=1e-13, atol=0)
    np.testing.assert_allclose(got_uses, uses, rtol=1e-13, atol=0)
    np.testing.assert_array_equal(log_z, history[-1])


def test_local_policy_normalised_and_sampling_matches_visits(x64):
  src, dst, reward, edge_reward = random_graph(1, False)
  origin, destination = 0, NUM_STATES - 1
  policy = softq.irl.local_policy(src, dst, reward, destination, HORIZON, edge_reward=edge_reward)
  assert policy.shape == (HORIZON, len(src))
  sums = jax.ops.segment_sum(jnp.exp(policy).T, jnp.asarray(src), NUM_STATES)  # [S, N]
  live = np.asarray(sums) > 0
  np.testing.assert_allclose(np.asarray(sums)[live], 1.0, rtol=0, atol=1e-12)
  num = 4000
  keys = jax.random.split(jax.random.PRNGKey(0), num)
  samples = paths.sample_paths(keys, jnp.asarray(src), jnp.asarray(dst), policy,
                               jnp.full(num, origin), destination)
  counts = np.array([np.bincount(p[p >= 0], minlength=NUM_STATES) for p in np.asarray(samples)])
  visits = softq.irl.expected_visits(src, dst, reward, origin, destination, HORIZON,
                                     edge_reward=edge_reward)
  standard_error = counts.std(0) / math.sqrt(num) + 1e-12
  assert np.all(np.abs(counts.mean(0) - visits) <= 5 * standard_error)


def test_most_likely_path_is_the_best_enumerated_path(x64):
  src, dst, reward, edge_reward = random_graph(2, False)
  found = enumerate_paths(src, dst, reward, edge_reward, 0, NUM_STATES - 1, HORIZON)
  best_states = max(found, key=lambda item: item[2])[0]
  decoded = paths.most_likely_path_jit(jnp.asarray(src), jnp.asarray(dst), jnp.asarray(reward),
                                       jnp.asarray(edge_reward), 0, NUM_STATES - 1, HORIZON)
  decoded = np.asarray(decoded)
  assert decoded[decoded >= 0].tolist() == best_states


def test_stable_with_rewards_of_plus_minus_1000(x64):
  src, dst, _, _ = random_graph(4, False)
  rng = np.random.default_rng(0)
  reward = 1000.0 * rng.choice([-1.0, 1.0], NUM_STATES)
  edge_reward = 1000.0 * rng.choice([-1.0, 1.0], len(src))
  destination = NUM_STATES - 1
  log_z = softq.irl.log_partition(src, dst, reward, destination, HORIZON, edge_reward=edge_reward)
  for origin in range(NUM_STATES):
    found = enumerate_paths(src, dst, reward, edge_reward, origin, destination, HORIZON)
    assert log_z[origin] == pytest.approx(brute_log_z(found), abs=1e-9)
  with jax.enable_x64(False):
    reward32, edge32 = reward.astype(np.float32), edge_reward.astype(np.float32)
    log_z32 = softq.irl.log_partition(src, dst, reward32, destination, HORIZON,
                                      edge_reward=edge32)
    visits32 = softq.irl.expected_visits(src, dst, reward32, 0, destination, HORIZON,
                                         edge_reward=edge32)
    grad32 = jax.grad(lambda r: softq.irl.log_partition(src, dst, r, destination, HORIZON,
                                                        edge_reward=edge32)[0])(reward32)
  assert log_z32.dtype == jnp.float32
  reachable = np.isfinite(np.asarray(log_z))
  np.testing.assert_allclose(np.asarray(log_z32)[reachable], np.asarray(log_z)[reachable],
                             rtol=1e-6)
  assert not np.any(np.isnan(log_z32)) and np.all(np.isfinite(visits32))
  # float32 carries |log Z| ~ 5000 with an ulp of ~5e-4, so visit counts agree to ~1e-3.
  visits64 = softq.irl.expected_visits(src, dst, reward, 0, destination, HORIZON,
                                       edge_reward=edge_reward)
  np.testing.assert_allclose(visits32, visits64, rtol=0, atol=1e-3)
  np.testing.assert_allclose(grad32, visits64, rtol=0, atol=1e-3)


def test_vmap_over_destinations_equals_loop(x64):
  src, dst, reward, edge_reward = random_graph(5, False)
  batched = jax.vmap(lambda d: softq.irl.log_partition(src, dst, reward, d, HORIZON,
                                                       edge_reward=edge_reward))(
      jnp.arange(NUM_STATES))
  for d in range(NUM_STATES):
    np.testing.assert_array_equal(
        batched[d], softq.irl.log_partition(src, dst, reward, d, HORIZON, edge_reward=edge_reward))


def test_invalid_inputs_raise_clear_errors():
  src, dst = np.array([0, 1, 2]), np.array([1, 2, 0])
  reward = np.zeros(3)
  with pytest.raises(ValueError, match="dst has transition endpoints outside"):
    softq.irl.log_partition(src, np.array([1, 2, 3]), reward, 0, 3)
  with pytest.raises(ValueError, match="duplicate transitions"):
    softq.irl.log_partition(np.array([0, 0]), np.array([1, 1]), reward, 1, 3)
  with pytest.raises(ValueError, match="must be finite"):
    softq.irl.log_partition(src, dst, np.array([0.0, np.nan, 0.0]), 0, 3)
  with pytest.raises(ValueError, match="horizon must be an int >= 1"):
    softq.irl.log_partition(src, dst, reward, 0, 0)
  with pytest.raises(ValueError, match="destination=5 is out of range"):
    softq.irl.log_partition(src, dst, reward, 5, 3)
  with pytest.raises(ValueError, match="transition 0 -> 2, which is not in the graph"):
    softq.irl.path_log_prob(src, dst, reward, np.array([0, 2]), 3)
  with pytest.raises(ValueError, match="cannot reach destination 0 within horizon=1"):
    softq.irl.expected_visits(src, dst, reward, 1, 0, 1)
  with pytest.raises(ValueError, match="between 1 and horizon \\+ 1 = 2 states, got 3"):
    softq.irl.path_log_prob(src, dst, reward, np.array([0, 1, 2]), 1)
  with pytest.raises(ValueError, match=r"^destination=3 is out of range \[0, 3\)$"):
    softq.irl.local_policy(src, dst, reward, 3, 2)


def test_path_log_prob_core_rejects_missing_transitions_and_revisits(x64):
  """The jittable core (no checks) gives -inf to a path over a missing transition and to one
  that reaches its destination before its end (here through the destination's self-loop)."""
  src, dst = jnp.array([0, 1, 2, 2]), jnp.array([1, 2, 0, 2])  # a cycle and a loop at 2
  reward, edge_reward = jnp.array([-0.1, -0.2, -0.3]), jnp.zeros(4)
  core = lambda path: inference.path_log_prob_core(src, dst, reward, edge_reward,
                                                    jnp.array(path), 3)
  assert np.isfinite(float(core([0, 1, 2])))
  assert float(core([0, 2])) == -np.inf  # 0 -> 2 is not a transition
  assert float(core([1, 2, 2])) == -np.inf  # 2 visited before the path ends


def three_path_graph():
  """Seed-002 Figure 2: routes A-X-P1-B, A-X-P2-B, A-Z-W-B, equal rewards."""
  a, x, p1, p2, z, w, b = range(7)
  pairs = [(a, x), (x, p1), (x, p2), (p1, b), (p2, b), (a, z), (z, w), (w, b)]
  routes = [[a, x, p1, b], [a, x, p2, b], [a, z, w, b]]
  return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]), routes


def test_label_bias_three_paths(x64):
  src, dst, routes = three_path_graph()
  reward, edge_reward = -np.ones(7), np.zeros(len(src))
  maxent = [math.exp(softq.irl.path_log_prob(src, dst, reward, np.array(r), 4)) for r in routes]
  np.testing.assert_allclose(maxent, [1 / 3] * 3, rtol=0, atol=1e-12)
  action = [math.exp(baselines.action_path_log_prob(
      jnp.asarray(src), jnp.asarray(dst), jnp.asarray(reward), jnp.asarray(edge_reward),
      jnp.asarray(r + [-1]), 4)) for r in routes]
  np.testing.assert_allclose(action, [1 / 4, 1 / 4, 1 / 2], rtol=0, atol=1e-12)


def test_destination_posterior_equals_bayes_over_enumerated_paths(x64):
  src, dst, reward, edge_reward = random_graph(2, False)
  candidates = np.array([3, 4, 5])
  log_prior = np.log(np.array([0.2, 0.3, 0.5]))
  histories = prediction.destination_histories(src, dst, reward, edge_reward, candidates,
                                               HORIZON)
  full = {int(c): enumerate_paths(src, dst, reward, edge_reward, 0, int(c), HORIZON)
          for c in candidates}
  prefix = next(s for s, _, _ in full[5] if len(s) >= 3)
  observed = 2
  padded = jnp.asarray(prefix + [-1] * (HORIZON + 1 - len(prefix)))
  posterior = prediction.destination_log_posterior_core(
      histories, jnp.asarray(candidates), jnp.asarray(log_prior), padded, observed)
  mass = []
  for c, lp in zip(candidates, log_prior):
    routes = full[int(c)]
    total = sum(math.exp(w) for _, _, w in routes)
    agree = sum(math.exp(w) for s, _, w in routes if s[:observed] == prefix[:observed])
    mass.append(math.exp(lp) * agree / total if total > 0 else 0.0)
  expected = np.array(mass) / sum(mass)
  np.testing.assert_allclose(np.exp(posterior), expected, rtol=0, atol=1e-9)


def test_transition_index_finds_every_edge_and_only_those():
  """A star of 8 edges out of one state needs all of bisection's bit_length(E) = 4 rounds; a
  missing transition is exactly -1, also when its target is in the next state's block."""
  src, dst = np.zeros(8, int), np.arange(1, 9)
  got = inference.transition_index(src, dst, jnp.zeros(8, int), jnp.arange(1, 9))
  np.testing.assert_array_equal(got, np.arange(8))
  src, dst = np.array([0, 1, 0]), np.array([1, 2, 3])  # 0 -> 1, 1 -> 2, 0 -> 3
  queries = [(0, 1), (1, 2), (0, 3), (0, 2), (1, 3), (2, 0)]
  a, b = (jnp.array(x) for x in zip(*queries))
  np.testing.assert_array_equal(inference.transition_index(src, dst, a, b), [0, 1, 2, -1, -1, -1])


def test_expected_counts_names_a_bad_origin_or_destination():
  src, dst, reward = np.array([0, 1, 2]), np.array([1, 2, 0]), np.zeros(3)
  with pytest.raises(ValueError, match=r"^origin=7 is out of range \[0, 3\)$"):
    softq.irl.expected_counts(src, dst, reward, 7, 0, 3)
  with pytest.raises(ValueError, match=r"^destination=-1 is out of range \[0, 3\)$"):
    softq.irl.expected_counts(src, dst, reward, 0, -1, 3)


def test_counts_keep_the_reward_dtype():
  """float32 rewards give float32 visits and uses with float64 enabled, whatever the start's
  dtype."""
  with jax.enable_x64(True):
    src, dst = jnp.array([0, 1, 2, 1]), jnp.array([1, 2, 0, 0])
    reward, edge_reward = jnp.array([-0.1, -0.2, -0.3], jnp.float32), jnp.zeros(4, jnp.float32)
    start = jnp.array([1.0, 0.0, 0.0], jnp.float64)
    visits, uses, _ = inference.counts_core(src, dst, reward, edge_reward, 2, start, 5)
    history = inference.history_core(src, dst, reward, edge_reward, 2, 5)
    f_visits, f_uses = inference.forward_core(src, dst, reward, edge_reward, history, 2, start)
    assert visits.dtype == uses.dtype == f_visits.dtype == f_uses.dtype == jnp.float32
    np.testing.assert_allclose(visits, f_visits, rtol=1e-6)
    np.testing.assert_allclose(uses, f_uses, rtol=1e-6)
