"""RBF kernel and bandwidth heuristics for Stein variational methods (§2.4).

All functions act on particle sets `[..., m, d]` with any number of leading batch axes
(one particle set per state). The kernel is `k(x, y) = exp(-||x - y||^2 / h)`.
"""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np

MIN_BANDWIDTH = 1e-3


def squared_distances(x: jax.Array, y: jax.Array) -> jax.Array:
  """Pairwise squared Euclidean distances.

  Args:
    x: `[..., n, d]`.
    y: `[..., k, d]`.
  Returns:
    `[..., n, k]` with entry `(i, j) = ||x_i - y_j||^2`, from differences: exactly 0 for equal
    points and exactly symmetric when `x is y`.
  """
  chex.assert_equal_shape_suffix([x, y], 1)
  d = x.shape[-1]
  if d > _UNROLL_LIMIT:
    diff = x[..., :, None, :] - y[..., None, :, :]
    return jnp.sum(diff * diff, axis=-1)
  # One [..., n, k] pass per coordinate: XLA:CPU reduces a minor axis of size d badly (60x
  # slower at d = 2, 2x at d = 20; measured in BUILD_NOTES.md).
  total = jnp.zeros(x.shape[:-2] + (x.shape[-2], y.shape[-2]), x.dtype)
  for k in range(d):
    diff = x[..., :, None, k] - y[..., None, :, k]
    total = total + diff * diff
  return total


_UNROLL_LIMIT = 64


def rbf_kernel(x: jax.Array, y: jax.Array, bandwidth: jax.Array) -> jax.Array:
  """RBF kernel matrix `k(x_i, y_j) = exp(-||x_i - y_j||^2 / h)` (§2.4).

  Args:
    x: `[..., n, d]`.
    y: `[..., k, d]`.
    bandwidth: `h`, `[...]` (one per particle set) or a scalar.
  Returns:
    `[..., n, k]`.
  """
  h = jnp.asarray(bandwidth, dtype=x.dtype)
  return jnp.exp(-squared_distances(x, y) / h[..., None, None])


def median_bandwidth(particles: jax.Array) -> jax.Array:
  """Liu & Wang median heuristic `h = median_{i<j} ||x_i - x_j||^2 / log(m + 1)` (§2.4, default).

  Clamped below at 1e-3; no gradient flows through it.

  Args:
    particles: `[..., m, d]`, m >= 2.
  Returns:
    `[...]`.
  """
  m = _num_particles(particles)
  low, high = _middle_of_pairs(squared_distances(particles, particles))
  h = 0.5 * (low + high) / math.log(m + 1)
  return jax.lax.stop_gradient(jnp.maximum(h, MIN_BANDWIDTH))


def median_distance_bandwidth(particles: jax.Array) -> jax.Array:
  """Seed-000 printed variant `h = median_{i<j} ||x_i - x_j|| / (2 log(m + 1))` (§2.4).

  Note the median of the *distance*, not its square. Clamped at 1e-3, stop-gradient.

  Args:
    particles: `[..., m, d]`, m >= 2.
  Returns:
    `[...]`.
  """
  m = _num_particles(particles)
  low, high = _middle_of_pairs(squared_distances(particles, particles))
  h = 0.5 * (jnp.sqrt(low) + jnp.sqrt(high)) / (2.0 * math.log(m + 1))
  return jax.lax.stop_gradient(jnp.maximum(h, MIN_BANDWIDTH))


def mean_bandwidth(particles: jax.Array) -> jax.Array:
  """S2AC-code variant: `sigma^2 = mean_{i<j} ||x_i - x_j||^2 / (4 log(m + 1))` (§2.4).

  That code uses `k = exp(-||x - y||^2 / (2 sigma^2))`, so in this module's convention the
  returned bandwidth is `h = 2 sigma^2`. Clamped at 1e-3, stop-gradient.

  Args:
    particles: `[..., m, d]`, m >= 2.
  Returns:
    `[...]`.
  """
  m = _num_particles(particles)
  # Mean over i < j = sum over the full matrix (zero diagonal, each pair twice) / (m (m - 1)).
  pair_mean = jnp.sum(squared_distances(particles, particles), axis=(-2, -1)) / (m * (m - 1))
  sigma2 = pair_mean / (4.0 * math.log(m + 1))
  return jax.lax.stop_gradient(jnp.maximum(2.0 * sigma2, MIN_BANDWIDTH))


BANDWIDTHS = {
    "median": median_bandwidth,
    "median_distance": median_distance_bandwidth,
    "mean": mean_bandwidth,
}


def bandwidth(particles: jax.Array, name: str = "median") -> jax.Array:
  """Bandwidth `[...]` of particles `[..., m, d]` by heuristic name (one of `BANDWIDTHS`)."""
  if name not in BANDWIDTHS:
    raise ValueError(f"unknown bandwidth heuristic {name!r}; accepted: {', '.join(BANDWIDTHS)}")
  return BANDWIDTHS[name](particles)


def _num_particles(particles: jax.Array) -> int:
  m = particles.shape[-2]
  if m < 2:
    raise ValueError(f"a bandwidth heuristic needs at least 2 particles, got m={m}")
  return m


def _middle_of_pairs(sq: jax.Array) -> tuple[jax.Array, jax.Array]:
  """The two middle order statistics of the pair distances `sq[..., i, j]`, `i < j`.

  Their mean is the median over pairs (equal if the pair count is odd). Selection, not sorting
  (sorting is slow on XLA:CPU, about 10x the rest of an SQL update at m = 100): non-negative IEEE
  floats order like their bit patterns read as integers, so the pair of rank `k` is found among
  the `n = m (m - 1) / 2` bit patterns of the upper triangle by an exact integer selection —
  radix select for one large particle set, bisection otherwise (see `_select`). Exact; no
  gradient flows.

  Args:
    sq: `[..., m, m]` squared distances, m >= 2.
  Returns:
    `(low, high)`, each `[...]`.
  """
  rows, cols = np.triu_indices(sq.shape[-1], 1)  # NumPy: constants XLA can specialise on
  values = jax.lax.stop_gradient(sq)[..., rows, cols]
  int_type = jnp.int64 if values.dtype == jnp.float64 else jnp.int32
  bits = jax.lax.bitcast_convert_type(values, int_type)
  num_pairs = values.shape[-1]
  rank = (num_pairs + 1) // 2  # the lower middle pair, 1-based
  low_bits = _select(bits, rank)
  low = jax.lax.bitcast_convert_type(low_bits, values.dtype)
  if num_pairs % 2:
    return low, low
  # The upper middle pair has rank `rank + 1`: `low` again if it fills that rank, else the next
  # larger value.
  count_low = jnp.sum(bits <= low_bits[..., None], axis=-1)
  above = jnp.min(jnp.where(bits > low_bits[..., None], values, jnp.inf), axis=-1)
  return low, jnp.where(count_low >= rank + 1, low, above)


# Radix select takes over from bisection for one particle set with at least this many pairs
# (m >= 65). Below it, and with batch axes (XLA:CPU's batched scatter is slow), bisection's
# compare-and-count passes are faster; BUILD_NOTES has the measurements.
RADIX_MIN_PAIRS = 2048
RADIX_DIGIT_BITS = 11


def _select(bits: jax.Array, rank: int) -> jax.Array:
  """The `rank`-th smallest (1-based) of non-negative integers `bits [..., n]`, as `[...]`."""
  if bits.ndim == 1 and bits.shape[-1] >= RADIX_MIN_PAIRS:
    return _radix_select(bits, rank)
  return _bisection_select(bits, rank)


def _bisection_select(bits: jax.Array, rank: int) -> jax.Array:
  """`_select` by bisection on the value: one compare-and-count pass over `n` per bit."""

  def bisect(_, bounds):
    lo, hi = bounds  # invariant: the answer lies in [lo, hi]
    mid = lo + (hi - lo) // 2
    enough = jnp.sum(bits <= mid[..., None], axis=-1) >= rank
    return jnp.where(enough, lo, mid + 1), jnp.where(enough, mid, hi)

  lo = jnp.zeros(bits.shape[:-1], bits.dtype)
  hi = jnp.full(bits.shape[:-1], jnp.iinfo(bits.dtype).max, bits.dtype)
  _, answer = jax.lax.fori_loop(0, jnp.iinfo(bits.dtype).bits - 1, bisect, (lo, hi))
  return answer


def _radix_select(bits: jax.Array, rank: int) -> jax.Array:
  """`_select` for one set `bits [n]` by radix select, most significant digit first.

  Each pass histograms the next digit (at most `RADIX_DIGIT_BITS` bits) of the entries whose
  higher digits equal the answer's prefix so far, and picks the bin holding the remaining rank:
  3 passes for 31 value bits (float32), 6 for 63 (float64), against 31 or 63 for bisection.
  """
  value_bits = jnp.iinfo(bits.dtype).bits - 1
  passes = -(-value_bits // RADIX_DIGIT_BITS)
  widths = [value_bits // passes + (i < value_bits % passes) for i in range(passes)]
  prefix = jnp.zeros((), bits.dtype)
  remaining = jnp.asarray(rank, bits.dtype)
  shift = value_bits
  for width in widths:
    shift -= width
    digit = (bits >> shift) & ((1 << width) - 1)
    match = (bits >> (shift + width)) == prefix
    histogram = jnp.zeros(1 << width, bits.dtype).at[digit].add(match.astype(bits.dtype))
    chosen, remaining = _bin_of_rank(histogram, remaining)
    prefix = (prefix << width) | chosen
  return prefix


def _bin_of_rank(histogram: jax.Array, rank: jax.Array) -> tuple[jax.Array, jax.Array]:
  """The bin of `histogram [B]` (B a power of two) holding the `rank`-th entry, and its rank there.

  Two levels of blocks of about `sqrt(B)` bins, so the cumulative sums stay short.
  """
  size = histogram.shape[0]
  block = 1 << ((size.bit_length() - 1) // 2)
  blocks = histogram.reshape(size // block, block)
  totals = jnp.sum(blocks, axis=-1)
  outer, rank = _position_of_rank(totals, rank)
  inner, rank = _position_of_rank(blocks[outer], rank)
  return outer * block + inner, rank


def _position_of_rank(counts: jax.Array, rank: jax.Array) -> tuple[jax.Array, jax.Array]:
  """The index of `counts [k]` holding the `rank`-th entry, and the rank within it."""
  position = jnp.sum(jnp.cumsum(counts) < rank).astype(rank.dtype)
  below = jnp.sum(jnp.where(jnp.arange(counts.shape[0]) < position, counts, 0))
  return position, rank - below
