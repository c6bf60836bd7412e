"""Stein variational gradient descent: the SVGD direction, the tanh-squashed score (§2.3, §2.5),
and the unrolled SVGD policy with a closed-form log-density (§3.1–§3.3).

Particles live in pre-squash space `u in R^d`, actions are `a = tanh(u)`. All functions take
particle sets `[..., m, d]` with any leading batch axes and are jit / vmap / grad friendly.
"""

import math
from typing import Callable

import chex
import jax
import jax.numpy as jnp

from softq import distributions
from softq import kernels


def svgd_direction(particles: jax.Array, scores: jax.Array, bandwidth: jax.Array) -> jax.Array:
  """Stein variational direction with the RBF kernel (§2.5).

  `phi(x_i) = (1/m) sum_j [k(x_j, x_i) g_j + grad_{x_j} k(x_j, x_i)]`, where for
  `k = exp(-||x - y||^2 / h)` the repulsive term is `(2/h) (x_i - x_j) k(x_j, x_i)`.

  Args:
    particles: `x`, `[..., m, d]`.
    scores: `g_j = grad log p(x_j)`, `[..., m, d]`.
    bandwidth: `h`, `[...]` or a scalar.
  Returns:
    `[..., m, d]`.
  """
  chex.assert_equal_shape([particles, scores])
  m = particles.shape[-2]
  h = jnp.asarray(bandwidth, dtype=particles.dtype)
  k = kernels.rbf_kernel(particles, particles, h)  # symmetric [..., m, m]
  drive = k @ scores
  repulse = (2.0 / h[..., None, None]) * (
      particles * jnp.sum(k, axis=-1, keepdims=True) - k @ particles)
  return (drive + repulse) / m


def squashed_score(pre_tanh: jax.Array, action_grad: jax.Array, alpha) -> jax.Array:
  """Score of the pre-squash density that pushes forward to `exp(Q/alpha)` on the box (§2.3).

  `grad_u log p(u) = (1 - tanh^2 u) * grad_a Q(s, a) / alpha - 2 tanh u`, with `a = tanh u`.

  Args:
    pre_tanh: `u`, `[..., d]`.
    action_grad: `grad_a Q(s, a)` at `a = tanh(u)`, `[..., d]`.
    alpha: temperature, scalar or broadcastable to `[...]` with a trailing axis of 1.
  Returns:
    `[..., d]`.
  """
  chex.assert_equal_shape([pre_tanh, action_grad])
  t = jnp.tanh(pre_tanh)
  return (1.0 - t * t) * action_grad / alpha - 2.0 * t


# --------------------------------------------------------------------------------------------
# Unrolled SVGD with a closed-form log-density (§3.1–§3.3)


LOG_DETS = ("trace", "exact")


def svgd_step(
    particles: jax.Array, scores: jax.Array, bandwidth: jax.Array, step_size,
    log_det: str = "trace",
) -> tuple[jax.Array, jax.Array]:
  """One SVGD step `u <- u + eps phi(u)` and its log-density increment (§2.5, §3.2, §3.3).

  The increment is `-log|det(I + eps J_i)|` (§3.2) for the Jacobian `J_i` of the leave-one-out
  map `x -> (1/(m-1)) sum_{j != i} [k(u_j, x) g_j + grad_{u_j} k(u_j, x)]` at `x = u_i` (§3.3):
  `J_i = (1/(m-1)) sum_{j != i} k_ij [(2/h) I - (4/h^2) Delta_ij Delta_ij^T
  - (2/h) g_j Delta_ij^T]`, `Delta_ij = u_i - u_j`, so that
  `log q^{l+1}(u^{l+1}_i) = log q^l(u^l_i) + increment_i`.

  - `log_det="trace"` (S2AC as in §3.3): the first-order `-eps tr J_i`,
    `eps/(m-1) sum_{j != i} k_ij [(2/h) Delta_ij^T g_j - 2d/h + (4/h^2) ||Delta_ij||^2]`.
    Valid while `eps ||J_i|| << 1`, i.e. `h >> eps`.
  - `log_det="exact"`: `-slogdet(I + eps J_i)` of the `d x d` matrix, `O(m^2 d^2 + m d^3)`.
    Equal to the trace form to `O(eps^2)`; it stays bounded (logarithmic in `eps/h`) where the
    first-order form grows like `eps/h` without bound (see BUILD_NOTES.md, softq.stein).

  The direction itself is the full mean-field sum `svgd_direction` (`1/m`, all `j`).

  Args:
    particles: `u`, `[..., m, d]`, m >= 2.
    scores: `g_j = grad log p(u_j)`, `[..., m, d]`.
    bandwidth: `h`, `[...]` or a scalar (treated as a constant).
    step_size: `eps`, scalar or `[...]`.
    log_det: `"trace"` or `"exact"` (`LOG_DETS`).
  Returns:
    `(new_particles, log_density_increment)`: `[..., m, d]`, `[..., m]`.
  """
  chex.assert_equal_shape([particles, scores])
  m, d = particles.shape[-2:]
  if m < 2:
    raise ValueError(f"svgd_step needs at least 2 particles per set (m >= 2), got m={m}")
  if log_det not in LOG_DETS:
    raise ValueError(f"log_det must be one of {', '.join(LOG_DETS)}, got {log_det!r}")
  bw = jnp.asarray(bandwidth, dtype=particles.dtype)
  h = bw[..., None, None]
  eps = jnp.asarray(step_size, dtype=particles.dtype)
  k = kernels.rbf_kernel(particles, particles, bw)
  k_others = k * (1.0 - jnp.eye(m, dtype=k.dtype))
  if log_det == "trace":
    sq = kernels.squared_distances(particles, particles)
    cross = particles @ jnp.swapaxes(scores, -1, -2)  # (i, j): u_i . g_j
    delta_dot_score = cross - jnp.sum(particles * scores, axis=-1)[..., None, :]
    terms = k_others * ((2.0 / h) * delta_dot_score - 2.0 * d / h + (4.0 / (h * h)) * sq)
    increment = eps[..., None] * jnp.sum(terms, axis=-1) / (m - 1)
  else:
    increment = -_leave_one_out_log_det(particles, scores, k_others, h, eps)
  new_particles = particles + eps[..., None, None] * svgd_direction(particles, scores, bw)
  return new_particles, increment


def _leave_one_out_log_det(particles, scores, k_others, h, eps) -> jax.Array:
  """`log|det(I + eps J_i)|` `[..., m]` for the leave-one-out Jacobians of `svgd_step`."""
  m, d = particles.shape[-2:]
  delta = particles[..., :, None, :] - particles[..., None, :, :]  # [..., i, j, d]
  w = k_others / (m - 1)
  outer = jnp.einsum("...ij,...ija,...ijb->...iab", w, delta, delta)
  drive = jnp.einsum("...ij,...ja,...ijb->...iab", w, scores, delta)
  diag = jnp.sum(w, axis=-1)[..., None, None] * jnp.eye(d, dtype=particles.dtype)
  hh = h[..., None]
  jac = (2.0 / hh) * diag - (4.0 / (hh * hh)) * outer - (2.0 / hh) * drive
  step = jnp.eye(d, dtype=particles.dtype) + eps[..., None, None, None] * jac
  return jnp.linalg.slogdet(step)[1]


def svgd_sample(
    score_fn: Callable[[jax.Array], jax.Array],
    particles: jax.Array,
    log_density: jax.Array,
    num_steps: int,
    step_size,
    bandwidth=None,
    log_det: str = "trace",
) -> tuple[jax.Array, jax.Array]:
  """`num_steps` SVGD steps under `lax.scan`, carrying each particle's log-density (§3.1–§3.3).

  Differentiable end to end (through the particles, the scores — Hessian-vector products of the
  target appear — and the increments; the bandwidth is stop-gradient) and vmappable.
  Running it twice for `L1` then `L2` steps equals one run of `L1 + L2` steps.

  Args:
    score_fn: `[..., m, d] -> [..., m, d]`, the target score at each particle.
    particles: initial `u^0`, `[..., m, d]`.
    log_density: `log q^0(u^0)`, `[..., m]`.
    num_steps: `L >= 0` (a Python int); `L = 0` returns the inputs unchanged.
    step_size: `eps`, scalar or `[...]`.
    bandwidth: `None` for the median heuristic recomputed at every step (§2.4), a heuristic name
      of `kernels.BANDWIDTHS` (also recomputed), or a number / `[...]` array kept fixed.
    log_det: `"trace"` (§3.3) or `"exact"`, as in `svgd_step`.
  Returns:
    `(particles, log_density)`: `u^L` `[..., m, d]` and `log q^L(u^L)` `[..., m]`.
  """
  if num_steps < 0:
    raise ValueError(f"num_steps must be >= 0, got {num_steps}")
  chex.assert_equal_shape_prefix([particles, log_density], log_density.ndim)
  if num_steps == 0:
    return particles, log_density

  def step(carry, _):
    u, log_q = carry
    if bandwidth is None:
      h = kernels.median_bandwidth(u)
    elif isinstance(bandwidth, str):
      h = kernels.bandwidth(u, bandwidth)
    else:
      h = bandwidth
    u, increment = svgd_step(u, score_fn(u), h, step_size, log_det)
    return (u, log_q + increment), None

  (particles, log_density), _ = jax.lax.scan(
      step, (particles, log_density), None, length=num_steps)
  return particles, log_density


def action_value_score(q_fn: Callable[[jax.Array], jax.Array], alpha) -> Callable:
  """Score function for `svgd_sample` whose target pushes forward to `exp(Q/alpha)` (§2.3, §3.1).

  Args:
    q_fn: actions `[..., m, d] -> [..., m]`; each particle's value must depend on its own action
      only (e.g. `lambda a: critic(params, s[:, None], a)` with the state fixed).
    alpha: temperature, scalar or broadcastable to `[..., m, d]` (e.g. `[B, 1, 1]`).
  Returns:
    `score_fn: u [..., m, d] -> grad_u log p(u) [..., m, d]`.
  """
  def score_fn(u):
    action_grad = jax.grad(lambda a: jnp.sum(q_fn(a)))(jnp.tanh(u))
    return squashed_score(u, action_grad, alpha)
  return score_fn


def stein_policy(
    mean: jax.Array,
    std: jax.Array,
    noise: jax.Array,
    score_fn: Callable[[jax.Array], jax.Array],
    num_steps: int,
    step_size,
    bandwidth=None,
    truncation=distributions.TRUNCATION,
    log_det: str = "trace",
) -> tuple[jax.Array, jax.Array, jax.Array]:
  """S2AC policy from standardized noise: truncated Gaussian, `L` SVGD steps, tanh (§3.1–§3.3).

  `u^0 = mean + std * noise`, `log q^0` exact with the truncation normaliser, `svgd_sample`, then
  `log pi(a_i|s) = log q^L(u^L_i) - sum_k log(1 - tanh^2 u^L_ik)`. With `num_steps = 0` and
  `truncation = inf` this is SAC's tanh-Gaussian (§3.8).

  Args:
    mean: `[..., d]` (S2AC(phi): zeros).
    std: `[..., d]` (S2AC(phi): `sigma_0 = 0.5`).
    noise: `[..., m, d]`, entries within `[-truncation, truncation]`.
    score_fn: `[..., m, d] -> [..., m, d]` (e.g. `action_value_score`).
    num_steps: `L`.
    step_size: `eps`.
    bandwidth: as in `svgd_sample`.
    truncation: bound in standard deviations (`distributions.TRUNCATION = 3`).
    log_det: `"trace"` (§3.3) or `"exact"`, as in `svgd_step`.
  Returns:
    `(actions, pre_tanh, log_probs)`: `[..., m, d]`, `[..., m, d]`, `[..., m]`.
  """
  u, log_q = distributions.reparameterized_truncated_normal(mean, std, noise, truncation)
  u, log_q = svgd_sample(score_fn, u, log_q, num_steps, step_size, bandwidth, log_det)
  return jnp.tanh(u), u, log_q - distributions.tanh_log_det_jacobian(u)


def sample_stein_policy(
    key: jax.Array,
    mean: jax.Array,
    std: jax.Array,
    num_particles: int,
    score_fn: Callable[[jax.Array], jax.Array],
    num_steps: int,
    step_size,
    bandwidth=None,
    truncation=distributions.TRUNCATION,
    log_det: str = "trace",
) -> tuple[jax.Array, jax.Array, jax.Array]:
  """`stein_policy` with `m = num_particles` exact truncated-normal draws from `key` (§3.1).

  Returns:
    `(actions, pre_tanh, log_probs)`: `[..., m, d]`, `[..., m, d]`, `[..., m]`.
  """
  shape = mean.shape[:-1] + (num_particles, mean.shape[-1])
  noise = jax.random.truncated_normal(key, -truncation, truncation, shape, dtype=mean.dtype)
  return stein_policy(mean, std, noise, score_fn, num_steps, step_size, bandwidth, truncation,
                      log_det)


def entropy_above_box_bound(log_probs: jax.Array, action_size: int) -> jax.Array:
  """Fraction of states whose entropy estimate `-(1/m) sum_i log pi(a_i|s)` exceeds `d log 2`.

  No density on the action box `[-1, 1]^d` has an entropy above `d log 2` (the uniform
  density's), so the estimate of a state counted here is wrong by construction (§3.3, §3.11).

  Args:
    log_probs: `log pi(a_i|s)`, `[..., m]`.
    action_size: `d`.
  Returns:
    scalar in `[0, 1]`.
  """
  estimate = -jnp.mean(log_probs, axis=-1)
  return jnp.mean(estimate > action_size * math.log(2.0))
