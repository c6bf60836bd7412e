"""Route-prediction baselines of Table 1 (§5.4).

- time-based: the fastest route (`most_likely_path` with `r = -travel time`);
- action-based: `P(a | s) ∝ exp(Q*(s, a))` with `Q*` from the hard (max-product) Bellman
  backup, θ fitted by maximum likelihood of the demonstrated actions; it suffers from label
  bias (probability is split per decision, not per route);
- maximum-margin planning (Ratliff et al. 2006): hinge loss with loss-augmented planning, the
  margin being the distance of segments off the demonstrated route, θ fitted by subgradient steps.
"""

import functools

import jax
import jax.numpy as jnp
import optax

from softq.irl import inference
from softq.irl import paths


def action_log_policy_core(src, dst, state_reward, edge_reward, destination, horizon: int):
  """Time-indexed action-based policy `log P_t(e | src_e) ∝ w_e + V*_{n-1}(dst_e)` (§5.4).

  `V*` is the best (max-product) path reward to the destination; `n = horizon - t` steps left.

  Args:
    src, dst: `[E]` int; state_reward `[S]`; edge_reward `[E]`; destination int scalar.
    horizon: static int.
  Returns:
    `[horizon, E]`, `-inf` from the destination and for moves that cannot reach it in time.
  """
  num_states = state_reward.shape[0]
  best = paths.best_history_core(src, dst, state_reward, edge_reward, destination, horizon)

  def row(value_prev):
    logits = edge_reward + value_prev[dst]
    norm = inference.segment_logsumexp(logits, src, num_states)[src]
    live = jnp.isfinite(norm) & (src != destination)
    return jnp.where(live & jnp.isfinite(logits), logits - jnp.where(live, norm, 0.0), -jnp.inf)

  return jax.vmap(row)(best[:-1][::-1])


def action_path_log_prob_core(src, dst, state_reward, edge_reward, path, horizon: int):
  """Log-probability of a padded path `[L]` under the action-based model. Scalar."""
  policy = action_log_policy_core(src, dst, state_reward, edge_reward, paths.path_end(path),
                                  horizon)
  edges = paths.path_transitions(src, dst, path)
  steps = jnp.arange(edges.shape[0])
  terms = policy[jnp.minimum(steps, horizon - 1), jnp.maximum(edges, 0)]
  return jnp.sum(jnp.where(edges >= 0, terms, 0.0))


action_path_log_prob = jax.jit(action_path_log_prob_core, static_argnames="horizon")


def fit_action_based(graph, trips, steps: int, learning_rate: float, horizon: int, l2=0.0):
  """Maximum-likelihood θ of the action-based model from padded trips `[T, L]` (Adam).

  Trips sharing a destination share one policy computation.

  Returns:
    `(theta [K + Ke], mean_log_likelihood_trace [steps])`.
  """
  trips = jnp.asarray(trips)
  ends = jax.vmap(paths.path_end)(trips)
  destinations, which = jnp.unique(ends, return_inverse=True)
  edges = jax.vmap(lambda p: paths.path_transitions(graph.src, graph.dst, p))(trips)
  return _fit_action(_graph_arrays(graph), destinations, which.reshape(-1), edges,
                     jnp.zeros(graph.num_features), steps, learning_rate, horizon, l2)


def fit_max_margin(graph, trips, steps: int, learning_rate: float, horizon: int, l2=0.01,
                   margin=1.0):
  """Maximum-margin planning θ from padded trips `[T, L]` (subgradient steps with Adam).

  Objective `mean_i [max_ζ (R_θ(ζ) + margin · km(ζ off ζ_i)) − R_θ(ζ_i)] + l2/2 ||θ||²`.

  Returns:
    `(theta [K + Ke], hinge_trace [steps])`.
  """
  arrays = _graph_arrays(graph) + (jnp.asarray(graph.length_km),)
  return _fit_margin(arrays, jnp.asarray(trips), jnp.zeros(graph.num_features), steps,
                     learning_rate, horizon, l2, margin)


def _graph_arrays(graph):
  return (jnp.asarray(graph.src), jnp.asarray(graph.dst), jnp.asarray(graph.state_features),
          jnp.asarray(graph.edge_features))


def _rewards(state_features, edge_features, theta):
  split = state_features.shape[1]
  return state_features @ theta[:split], edge_features @ theta[split:]


@functools.partial(jax.jit, static_argnames=("steps", "horizon"))
def _fit_action(arrays, destinations, which, edges, theta0, steps, learning_rate, horizon, l2):
  src, dst, state_features, edge_features = arrays
  time = jnp.minimum(jnp.arange(edges.shape[1]), horizon - 1)

  def mean_log_likelihood(theta):
    reward, edge_reward = _rewards(state_features, edge_features, theta)
    policy = jax.lax.map(
        lambda d: action_log_policy_core(src, dst, reward, edge_reward, d, horizon),
        destinations, batch_size=16)  # [U, N, E]
    terms = policy[which[:, None], time[None, :], jnp.maximum(edges, 0)]
    return jnp.sum(jnp.where(edges >= 0, terms, 0.0)) / edges.shape[0]

  loss = lambda theta: -mean_log_likelihood(theta) + 0.5 * l2 * jnp.sum(theta ** 2)
  return _adam(jax.value_and_grad(loss), theta0, steps, learning_rate, sign=-1.0)


@functools.partial(jax.jit, static_argnames=("steps", "horizon"))
def _fit_margin(arrays, trips, theta0, steps, learning_rate, horizon, l2, margin):
  src, dst, state_features, edge_features, length_km = arrays
  num_states = state_features.shape[0]

  def hinge(theta):
    reward, edge_reward = _rewards(state_features, edge_features, theta)

    def one(path):
      on_route, uses = paths.path_counts(src, dst, num_states, path)
      augmented = reward + margin * length_km * (on_route == 0)
      best = jax.lax.stop_gradient(paths.most_likely_path_core(
          src, dst, augmented, edge_reward, path[0], paths.path_end(path), horizon))
      best_states, best_uses = paths.path_counts(src, dst, num_states, best)
      # On the demonstrated route the augmentation is 0, so its augmented reward is R_θ(ζ_i).
      return (best_states - on_route) @ augmented + (best_uses - uses) @ edge_reward

    return jnp.mean(jax.lax.map(one, trips, batch_size=64)) + 0.5 * l2 * jnp.sum(theta ** 2)

  return _adam(jax.value_and_grad(hinge), theta0, steps, learning_rate, sign=1.0)


def _adam(value_and_grad, theta0, steps, learning_rate, sign):
  """Runs Adam on a loss for `steps` steps; the trace records `sign * loss` (so higher = better
  for likelihoods with `sign=-1`)."""
  optimizer = optax.adam(learning_rate)

  def step(state, _):
    theta, opt_state = state
    value, grad = value_and_grad(theta)
    updates, opt_state = optimizer.update(grad, opt_state, theta)
    return (optax.apply_updates(theta, updates), opt_state), sign * value

  (theta, _), trace = jax.lax.scan(step, (theta0, optimizer.init(theta0)), None, length=steps)
  return theta, trace
