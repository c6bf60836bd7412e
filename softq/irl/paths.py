"""Path decoding, sampling and path bookkeeping on edge-list graphs (§5.2, §5.4).

Paths are padded int arrays `[L]`: state indices from the origin to the destination, then `-1`.
`most_likely_path_core` is the max-product ("tropical") twin of the §5.2 backward pass: the
single highest-reward path, i.e. the mode of the MaxEnt path distribution (and, with
`state_reward = -travel_time`, the time-based shortest path of §5.4). `sample_path_core` draws
exact samples from the time-indexed local policy.
"""

import jax
import jax.numpy as jnp

from softq.irl import inference

PAD = -1


def best_history_core(src, dst, state_reward, edge_reward, destination, horizon: int):
  """Max-product backward iterates: row `n` = best path reward to destination in `<= n` steps.

  Args:
    src, dst: `[E]` int; state_reward `[S]`; edge_reward `[E]`; destination int scalar.
    horizon: static int.
  Returns:
    `[horizon + 1, S]`, `-inf` where the destination is out of reach.
  """
  num_states = state_reward.shape[0]
  is_destination = jnp.arange(num_states) == destination
  best = jnp.where(is_destination, state_reward, -jnp.inf)

  def body(value, _):
    inflow = jax.ops.segment_max(edge_reward + value[dst], src, num_states)
    value = jnp.where(is_destination, state_reward, state_reward + inflow)
    return value, value

  _, rows = jax.lax.scan(body, best, None, length=horizon)
  return jnp.concatenate([best[None], rows])


def most_likely_path_core(src, dst, state_reward, edge_reward, origin, destination,
                          horizon: int):
  """Highest-reward path origin -> destination with `<= horizon` transitions (§5.4 prediction).

  Args:
    src, dst: `[E]` int; state_reward `[S]`; edge_reward `[E]`.
    origin, destination: int scalars (vmappable).
    horizon: static int.
  Returns:
    `[horizon + 1]` padded path (all `PAD` after the origin if unreachable).
  """
  history = best_history_core(src, dst, state_reward, edge_reward, destination, horizon)
  scores = lambda row: edge_reward + row[dst]
  return _decode(src, dst, history, destination, origin, scores, jnp.argmax)


def sample_path_core(key, src, dst, log_policy, origin, destination):
  """One exact sample from the MaxEnt path distribution via the time-indexed policy (§5.2).

  Args:
    key: PRNG key.
    src, dst: `[E]` int.
    log_policy: `[N, E]` from `inference.policy_core` for this destination.
    origin, destination: int scalars; origin must reach the destination in N steps.
  Returns:
    `[N + 1]` padded path.
  """
  noisy = log_policy + jax.random.gumbel(key, log_policy.shape, log_policy.dtype)

  def body(state, row):
    choice = jnp.argmax(jnp.where(src == state, row, -jnp.inf))
    alive = (state != destination) & (state != PAD)
    following = jnp.where(alive, dst[choice], PAD)
    return following, following

  _, rest = jax.lax.scan(body, jnp.asarray(origin, src.dtype), noisy)
  return jnp.concatenate([jnp.asarray(origin, src.dtype)[None], rest])


def path_transitions(src, dst, path):
  """Transition indices used by a padded path, `-1` in padded slots.

  Args:
    src, dst: `[E]` int.
    path: `[L]` padded path.
  Returns:
    `[L - 1]` int.
  """
  a, b = path[:-1], path[1:]
  edges = inference.transition_index(src, dst, jnp.maximum(a, 0), jnp.maximum(b, 0))
  return jnp.where((a >= 0) & (b >= 0), edges, -1)


def path_counts(src, dst, num_states: int, path):
  """State visit counts `[S]` and transition use counts `[E]` of one padded path."""
  valid = path >= 0
  states = jax.ops.segment_sum(valid.astype(jnp.float32), jnp.maximum(path, 0), num_states)
  edges = path_transitions(src, dst, path)
  uses = jax.ops.segment_sum((edges >= 0).astype(jnp.float32), jnp.maximum(edges, 0),
                             src.shape[0])
  return states, uses


def path_end(path):
  """Last non-padded state of a padded path (its destination). Scalar int."""
  return path[jnp.sum(path >= 0) - 1]


def _decode(src, dst, history, destination, origin, scores, pick):
  """Follows `pick(scores(row))` over each state's outgoing transitions, time-indexed."""
  earlier = history[:-1][::-1]

  def body(state, row):
    choice = pick(jnp.where(src == state, scores(row), -jnp.inf))
    alive = (state != destination) & (state != PAD) & jnp.isfinite(row[dst[choice]])
    following = jnp.where(alive, dst[choice], PAD)
    return following, following

  start = jnp.where(jnp.isfinite(history[-1][origin]), origin, PAD).astype(src.dtype)
  _, rest = jax.lax.scan(body, start, earlier)
  return jnp.concatenate([jnp.asarray(origin, src.dtype)[None], rest])


most_likely_path_jit = jax.jit(most_likely_path_core, static_argnames="horizon")
most_likely_paths = jax.jit(
    jax.vmap(most_likely_path_core, in_axes=(None, None, None, None, 0, 0, None)),
    static_argnames="horizon")
sample_paths = jax.jit(jax.vmap(sample_path_core, in_axes=(0, None, None, None, 0, None)))
