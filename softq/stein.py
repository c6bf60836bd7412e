"""Stein variational gradient descent: the SVGD direction and the tanh-squashed score (§2.3, §2.5).

Particles live in pre-squash space `u in R^d`, actions are `a = tanh(u)`. All functions take
particle sets `[..., m, d]` with any leading batch axes and are jit / vmap / grad friendly.
"""

import chex
import jax
import jax.numpy as jnp

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
