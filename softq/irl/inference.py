"""Exact, stable MaxEnt path inference on graphs given as edge lists (§5.1–§5.2).

A graph has `S` states (road segments) and `E` transitions `src[E] -> dst[E]`. A path is a
sequence of states `s_0 -> ... -> s_k = destination` along transitions, `k <= horizon`, that
stops at its first arrival at the (absorbing) destination. Its weight is
`exp(sum_i r(s_i) + sum_j w(e_j))`: every state counts, the destination included, plus an
optional per-transition reward `w` (per-transition features, or `log P_T` for §5.2's stochastic
transition approximation). Everything runs in log space with segment reductions over the edge
list (no dense `S x S` matrix): `O(horizon * E)` time; expected counts in
`O(sqrt(horizon) * (S + E))` memory (`counts_core`).

Public functions validate concrete inputs and raise `ValueError` with a readable message; the
`*_core` functions are the pure, jittable kernels (used under `jit` / `vmap` / `grad`). Under a
transformation the public functions skip value checks they cannot make (they still work).
"""

import functools
import math

import jax
import jax.numpy as jnp

from softq.irl import checks


def log_partition(src, dst, state_reward, destination, horizon: int, edge_reward=None):
  """Log-partition `log Z_s` of all paths from every state to `destination` (§5.2 backward pass).

  `log Z_s = log sum_{paths s -> destination, <= horizon transitions} exp(path reward)`,
  `-inf` where no such path exists; `log Z_destination = r(destination)`.

  Args:
    src: `[E]` int, transition sources.
    dst: `[E]` int, transition targets.
    state_reward: `[S]` float, finite.
    destination: int scalar in `[0, S)`.
    horizon: static int >= 1, the most transitions a path may use.
    edge_reward: optional `[E]` float (default zeros).
  Returns:
    `[S]`.
  """
  src, dst, state_reward, edge_reward = checks.graph_inputs(
      src, dst, state_reward, edge_reward, horizon)
  checks.state_index(destination, state_reward.shape[0], "destination")
  return _log_partition_jit(src, dst, state_reward, edge_reward, destination, horizon)


def expected_visits(src, dst, state_reward, origin, destination, horizon: int,
                    edge_reward=None):
  """Expected occurrences `D_s` of each state on a path origin -> destination (§5.1, §5.2).

  Paths are distributed `∝ exp(path reward)`; computed by the time-indexed forward pass with the
  corrected indices of §5.2. Equals `∇_r log Z_origin`.

  Args:
    src, dst: `[E]` int.
    state_reward: `[S]`.
    origin, destination: int scalars in `[0, S)`; origin must reach destination in `horizon`.
    horizon: static int >= 1.
    edge_reward: optional `[E]`.
  Returns:
    `[S]`, with `D_origin >= 1` and `D_destination = 1`.
  """
  visits, _ = expected_counts(src, dst, state_reward, origin, destination, horizon, edge_reward)
  return visits


def expected_counts(src, dst, state_reward, origin, destination, horizon: int,
                    edge_reward=None):
  """Expected state visits `[S]` and transition uses `[E]` of paths origin -> destination (§5.2).

  Args: as `expected_visits`.
  Returns:
    `(visits [S], transition_uses [E])`; transition uses equal `∇_w log Z_origin`.
  """
  src, dst, state_reward, edge_reward = checks.graph_inputs(
      src, dst, state_reward, edge_reward, horizon)
  num_states = state_reward.shape[0]
  checks.state_index(origin, num_states, "origin")
  checks.state_index(destination, num_states, "destination")
  start = jax.nn.one_hot(origin, num_states, dtype=state_reward.dtype)
  visits, uses, log_z = _counts_jit(src, dst, state_reward, edge_reward, destination, start,
                                    horizon)
  checks.reachable(log_z, origin, destination, horizon)
  return visits, uses


def local_policy(src, dst, state_reward, destination, horizon: int, edge_reward=None):
  """Time-indexed local policy `log P_t(transition | state)` (§5.2 local action probabilities).

  Row `t` is the policy used for the `t`-th transition of a path that started with `horizon`
  transitions allowed: `P_t(e | src_e) = exp(r(src_e) + w_e + log Z^{(n-1)}_{dst_e} - log
  Z^{(n)}_{src_e})` with `n = horizon - t`. Entries are `-inf` from the destination (absorbed)
  and from states that cannot reach it in the remaining steps; elsewhere each state's outgoing
  probabilities sum to 1. Used for sampling (`softq.irl.paths.sample_paths`).

  Args: as `log_partition`.
  Returns:
    `[horizon, E]` log-probabilities.
  """
  src, dst, state_reward, edge_reward = checks.graph_inputs(
      src, dst, state_reward, edge_reward, horizon)
  checks.state_index(destination, state_reward.shape[0], "destination")
  history = _history_jit(src, dst, state_reward, edge_reward, destination, horizon)
  return _policy_jit(src, dst, state_reward, edge_reward, history, destination)


def path_log_prob(src, dst, state_reward, path, horizon: int, edge_reward=None):
  """Log-probability of one path under the MaxEnt distribution (§5.1).

  `log P(path) = sum_{s in path} r(s) + sum_{e in path} w(e) - log Z_{path[0]}` with destination
  `path[-1]`.

  Args:
    src, dst: `[E]` int.
    state_reward: `[S]`.
    path: `[L]` int state indices, `1 <= L <= horizon + 1`, consecutive states joined by a
      transition, the last state not visited earlier.
    horizon: static int >= 1.
    edge_reward: optional `[E]`.
  Returns:
    scalar.
  """
  src, dst, state_reward, edge_reward = checks.graph_inputs(
      src, dst, state_reward, edge_reward, horizon)
  path = checks.path(path, src, dst, state_reward.shape[0], horizon)
  return _path_log_prob_jit(src, dst, state_reward, edge_reward, path, horizon)


# --------------------------------------------------------------------------------------------
# Pure jittable kernels.


def segment_logsumexp(values, segment_ids, num_segments: int):
  """Stable `log sum_{i: segment_ids[i]=j} exp(values[i])` per segment (max-shift trick).

  Empty or all-`-inf` segments give `-inf` with zero (not NaN) gradients.

  Args:
    values: `[E]`.
    segment_ids: `[E]` int in `[0, num_segments)`.
    num_segments: static int.
  Returns:
    `[num_segments]`.
  """
  peak = jax.ops.segment_max(values, segment_ids, num_segments)
  peak = jax.lax.stop_gradient(jnp.where(jnp.isfinite(peak), peak, 0.0))
  total = jax.ops.segment_sum(jnp.exp(values - peak[segment_ids]), segment_ids, num_segments)
  positive = total > 0
  return jnp.where(positive, jnp.log(jnp.where(positive, total, 1.0)) + peak, -jnp.inf)


def backward_step(src, dst, state_reward, edge_reward, is_destination, log_z):
  """One soft Bellman backup `log Z <- r + logsumexp_e (w_e + log Z_dst)`, destination fixed."""
  num_states = state_reward.shape[0]
  inflow = segment_logsumexp(edge_reward + log_z[dst], src, num_states)
  return jnp.where(is_destination, state_reward, state_reward + inflow)


def log_partition_core(src, dst, state_reward, edge_reward, destination, horizon: int):
  """Jittable `log_partition` (no checks); `O(S + E)` memory. Returns `[S]`."""
  is_destination = jnp.arange(state_reward.shape[0]) == destination
  log_z = jnp.where(is_destination, state_reward, -jnp.inf)
  step = functools.partial(backward_step, src, dst, state_reward, edge_reward, is_destination)
  return jax.lax.fori_loop(0, horizon, lambda _, z: step(z), log_z)


def history_core(src, dst, state_reward, edge_reward, destination, horizon: int):
  """All backward iterates: row `n` is `log Z` with at most `n` transitions. `[horizon + 1, S]`."""
  is_destination = jnp.arange(state_reward.shape[0]) == destination
  log_z = jnp.where(is_destination, state_reward, -jnp.inf)
  step = functools.partial(backward_step, src, dst, state_reward, edge_reward, is_destination)

  def body(z, _):
    z = step(z)
    return z, z

  _, rows = jax.lax.scan(body, log_z, None, length=horizon)
  return jnp.concatenate([log_z[None], rows])


def policy_core(src, dst, state_reward, edge_reward, history, destination):
  """Time-indexed log-policy `[horizon, E]` from `history_core`'s output (see `local_policy`)."""
  later, earlier = history[1:][::-1], history[:-1][::-1]
  return jax.vmap(
      lambda z_n, z_prev: _step_log_policy(src, dst, state_reward, edge_reward, destination,
                                           z_n, z_prev))(later, earlier)


def forward_core(src, dst, state_reward, edge_reward, history, destination, start):
  """Forward pass, §5.2 corrected indices: `D_{s',t+1} = sum_{e: dst_e=s'} D_{src_e,t} P_t(e)`.

  Linear in `start`, so one call serves every trip that shares a destination.

  Args:
    src, dst: `[E]`; state_reward `[S]`; edge_reward `[E]`.
    history: `[N + 1, S]` from `history_core`.
    destination: int scalar.
    start: `[S]` non-negative start weights (a one-hot origin, or origin counts).
  Returns:
    `(visits [S], transition_uses [E])`, summed over time.
  """
  num_states = state_reward.shape[0]
  start = start.astype(state_reward.dtype)
  later, earlier = history[1:][::-1], history[:-1][::-1]

  def body(carry, rows):
    mass, visits, uses = carry
    log_policy = _step_log_policy(src, dst, state_reward, edge_reward, destination, *rows)
    flow = mass[src] * jnp.exp(log_policy)
    mass = jax.ops.segment_sum(flow, dst, num_states)
    return (mass, visits + mass, uses + flow), None

  zeros_e = jnp.zeros(src.shape[0], dtype=start.dtype)
  (_, visits, uses), _ = jax.lax.scan(body, (start, start, zeros_e), (later, earlier))
  return visits, uses


def counts_core(src, dst, state_reward, edge_reward, destination, start, horizon: int):
  """`forward_core` without the `[horizon + 1, S]` history: `O(sqrt(horizon) (S + E))` memory.

  The forward pass reads the backward iterates in reverse (`log Z^{(n)}`, `n = horizon ... 1`).
  The backward pass keeps only every `k`-th iterate (`k = ceil(sqrt(horizon))`); the forward
  pass then regenerates one block of `k` iterates at a time from its checkpoint, last block
  first: one backward pass more than `history_core` + `forward_core`, and the same sums (§5.2).

  Args:
    src, dst: `[E]`; state_reward `[S]`; edge_reward `[E]`; destination: int scalar.
    start: `[S]` non-negative start weights.
    horizon: static int >= 1.
  Returns:
    `(visits [S], transition_uses [E], log_z [S])`, `log_z` the horizon-step log-partition.
  """
  num_states = state_reward.shape[0]
  start = start.astype(state_reward.dtype)
  block = math.isqrt(horizon - 1) + 1  # ceil(sqrt(horizon))
  num_blocks = -(-horizon // block)
  is_destination = jnp.arange(num_states) == destination
  step = functools.partial(backward_step, src, dst, state_reward, edge_reward, is_destination)

  def advance(z, n):  # log Z^{(n)} -> log Z^{(n + 1)}, held at log Z^{(horizon)} beyond it
    return jnp.where(n < horizon, step(z), z)

  def checkpoint(z, j):
    end = jax.lax.fori_loop(0, block, lambda i, zi: advance(zi, j * block + i), z)
    return end, z

  log_z0 = jnp.where(is_destination, state_reward, -jnp.inf)
  log_z, checkpoints = jax.lax.scan(checkpoint, log_z0, jnp.arange(num_blocks))

  def regenerate(z, _):
    z = step(z)
    return z, z

  def block_pass(carry, args):
    j, first = args
    _, later = jax.lax.scan(regenerate, first, None, length=block)
    rows = jnp.concatenate([first[None], later])  # rows[i] = log Z^{(j block + i)}

    def body(inner, i):
      mass, visits, uses = inner
      log_policy = _step_log_policy(src, dst, state_reward, edge_reward, destination,
                                    rows[i], rows[i - 1])
      flow = mass[src] * jnp.exp(log_policy)
      moved = jax.ops.segment_sum(flow, dst, num_states)
      live = j * block + i <= horizon
      return (jnp.where(live, moved, mass), jnp.where(live, visits + moved, visits),
              jnp.where(live, uses + flow, uses)), None

    carry, _ = jax.lax.scan(body, carry, jnp.arange(block, 0, -1))
    return carry, None

  zeros_e = jnp.zeros(src.shape[0], dtype=start.dtype)
  (_, visits, uses), _ = jax.lax.scan(
      block_pass, (start, start, zeros_e),
      (jnp.arange(num_blocks)[::-1], checkpoints[::-1]))
  return visits, uses, log_z


def path_log_prob_core(src, dst, state_reward, edge_reward, path, horizon: int):
  """Jittable `path_log_prob`; `-inf` for a path that uses a missing transition. Scalar."""
  edges = transition_index(src, dst, path[:-1], path[1:])
  reward = jnp.sum(state_reward[path]) + jnp.sum(jnp.where(edges >= 0, edge_reward[edges], 0.0))
  log_z = log_partition_core(src, dst, state_reward, edge_reward, path[-1], horizon)
  valid = jnp.all(edges >= 0) & ~jnp.any(path[:-1] == path[-1])
  return jnp.where(valid, reward - log_z[path[0]], -jnp.inf)


def transition_index(src, dst, a, b):
  """Index of the transition `a -> b` in the edge list, or -1 if absent (duplicates not allowed).

  Sorts the edges by `(src, dst)`, finds `a`'s block by `searchsorted`, then binary-searches `b`
  inside it (no `S * S` keys, so no integer overflow on large graphs).

  Args:
    src, dst: `[E]` int.
    a, b: int arrays of equal shape.
  Returns:
    int array of the shape of `a`.
  """
  src, dst = jnp.asarray(src), jnp.asarray(dst)
  order = jnp.lexsort((dst, src))
  sorted_src, sorted_dst = src[order], dst[order]
  start = jnp.searchsorted(sorted_src, a, side="left")
  end = jnp.searchsorted(sorted_src, a, side="right")
  last = src.shape[0] - 1

  def bisect(_, bounds):
    lo, hi = bounds
    mid = (lo + hi) // 2
    active = lo < hi
    less = sorted_dst[jnp.clip(mid, 0, last)] < b
    return jnp.where(active & less, mid + 1, lo), jnp.where(active & ~less, mid, hi)

  position, _ = jax.lax.fori_loop(0, max(1, src.shape[0].bit_length()), bisect, (start, end))
  safe = jnp.clip(position, 0, last)
  found = (position < end) & (sorted_dst[safe] == b)
  return jnp.where(found, order[safe], -1)


def _step_log_policy(src, dst, state_reward, edge_reward, destination, log_z_n, log_z_prev):
  """`log P(e | src_e)` with `n` steps left, `-inf` from the destination or dead states."""
  live = jnp.isfinite(log_z_n[src]) & (src != destination)
  safe_norm = jnp.where(live, log_z_n[src], 0.0)
  logits = state_reward[src] + edge_reward + log_z_prev[dst] - safe_norm
  return jnp.where(live, logits, -jnp.inf)


_log_partition_jit = jax.jit(log_partition_core, static_argnames="horizon")
_history_jit = jax.jit(history_core, static_argnames="horizon")
_policy_jit = jax.jit(policy_core)
_counts_jit = jax.jit(counts_core, static_argnames="horizon")
_path_log_prob_jit = jax.jit(path_log_prob_core, static_argnames="horizon")
