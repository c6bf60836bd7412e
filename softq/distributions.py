"""Policy distributions with exact log-densities: truncated / plain diagonal Gaussians, tanh squash.

The S2AC initial distribution is a diagonal Gaussian truncated to `mean ± bound·std` in every
coordinate, sampled exactly (no clipping, no rejection) and with its normaliser in the log-density
(§3.1). SAC's policy is the untruncated tanh-Gaussian (§3.8). Pre-squash variables `u` live in
`R^d`, actions are `a = tanh(u)`; log-densities of actions are always computed from `u` (never by
inverting tanh). All functions broadcast over leading axes and are jit / vmap / grad friendly.
"""

import math

import chex
import jax
import jax.numpy as jnp

TRUNCATION = 3.0


def gaussian_log_prob(u: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
  """Log-density of a diagonal Gaussian `N(mean, diag std^2)` (§3.8).

  Args:
    u: `[..., d]`.
    mean: broadcastable to `[..., d]`.
    std: broadcastable to `[..., d]`, positive.
  Returns:
    `[...]`.
  """
  z = (u - mean) / std
  per_coord = -0.5 * z * z - jnp.log(std) - 0.5 * math.log(2.0 * math.pi)
  return jnp.sum(per_coord, axis=-1)


def truncated_normal_log_normalizer(bound) -> jax.Array:
  """`log(Phi(bound) - Phi(-bound))`, the per-coordinate log-mass kept by truncation (§3.1).

  Args:
    bound: truncation in standard deviations (> 0; `inf` gives 0).
  Returns:
    scalar (same shape as `bound`).
  """
  return jnp.log(jax.scipy.special.erf(jnp.asarray(bound) / math.sqrt(2.0)))


def truncated_normal_log_prob(
    u: jax.Array, mean: jax.Array, std: jax.Array, bound=TRUNCATION) -> jax.Array:
  """Exact log-density of `N(mean, diag std^2)` truncated to `mean ± bound·std` per axis (§3.1).

  `log q(u) = log N(u; mean, std) - d log(Phi(bound) - Phi(-bound))` inside the box, `-inf` outside.

  Args:
    u: `[..., d]`.
    mean: broadcastable to `[..., d]`.
    std: broadcastable to `[..., d]`, positive.
    bound: truncation in standard deviations, scalar > 0.
  Returns:
    `[...]`.
  """
  d = u.shape[-1]
  inside = jnp.all(jnp.abs(u - mean) <= bound * std, axis=-1)
  log_q = gaussian_log_prob(u, mean, std) - d * truncated_normal_log_normalizer(bound)
  return jnp.where(inside, log_q, -jnp.inf)


def sample_truncated_normal(
    key: jax.Array, mean: jax.Array, std: jax.Array, num_samples: int, bound=TRUNCATION
) -> tuple[jax.Array, jax.Array]:
  """Reparameterised samples of the truncated diagonal Gaussian and their exact log-density (§3.1).

  `u = mean + std * z` with `z ~ N(0, 1)` truncated to `[-bound, bound]` (inverse-CDF sampling by
  `jax.random.truncated_normal`), so gradients flow to `mean` and `std`.

  Args:
    key: PRNG key.
    mean: `[..., d]`.
    std: `[..., d]`, positive.
    num_samples: `n`, particles per distribution.
    bound: truncation in standard deviations.
  Returns:
    `(u, log_q)` with `u: [..., n, d]`, `log_q: [..., n]`.
  """
  chex.assert_equal_shape([mean, std])
  shape = mean.shape[:-1] + (num_samples, mean.shape[-1])
  z = jax.random.truncated_normal(key, -bound, bound, shape, dtype=mean.dtype)
  return reparameterized_truncated_normal(mean, std, z, bound)


def reparameterized_truncated_normal(
    mean: jax.Array, std: jax.Array, noise: jax.Array, bound=TRUNCATION
) -> tuple[jax.Array, jax.Array]:
  """`u = mean + std * noise` for given standardized noise, with the truncated log-density (§3.1).

  With `bound = inf` and standard-normal noise this is the untruncated Gaussian of SAC (§3.8).

  Args:
    mean: `[..., d]`.
    std: `[..., d]`.
    noise: `[..., n, d]`, entries in `[-bound, bound]`.
    bound: truncation in standard deviations.
  Returns:
    `(u, log_q)`: `[..., n, d]`, `[..., n]`.
  """
  mean, std = mean[..., None, :], std[..., None, :]
  u = mean + std * noise
  d = u.shape[-1]
  log_q = (jnp.sum(-0.5 * noise * noise - jnp.log(std), axis=-1)
           - d * (0.5 * math.log(2.0 * math.pi) + truncated_normal_log_normalizer(bound)))
  return u, log_q


def tanh_log_det_jacobian(u: jax.Array) -> jax.Array:
  """`sum_k log(1 - tanh^2 u_k)` in the stable form `2 (log 2 - u - softplus(-2u))` (§3.3, §3.8).

  Args:
    u: pre-squash values, `[..., d]`.
  Returns:
    `[...]`: `log |det d tanh(u) / du|`.
  """
  return jnp.sum(2.0 * (math.log(2.0) - u - jax.nn.softplus(-2.0 * u)), axis=-1)


def tanh_gaussian_log_prob(u: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
  """SAC policy log-density of `a = tanh(u)`, `u ~ N(mean, diag std^2)` (§3.8).

  `log pi(a) = log N(u; mean, std) - sum_k log(1 - tanh^2 u_k)`.

  Args:
    u: pre-squash sample, `[..., d]`.
    mean: broadcastable to `[..., d]`.
    std: broadcastable to `[..., d]`.
  Returns:
    `[...]`.
  """
  return gaussian_log_prob(u, mean, std) - tanh_log_det_jacobian(u)


def sample_tanh_gaussian(
    key: jax.Array, mean: jax.Array, std: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
  """One reparameterised SAC action per distribution (§3.8).

  Args:
    key: PRNG key.
    mean: `[..., d]`.
    std: `[..., d]`.
  Returns:
    `(action, u, log_prob)`: `[..., d]`, `[..., d]`, `[...]`.
  """
  chex.assert_equal_shape([mean, std])
  noise = jax.random.normal(key, mean.shape, dtype=mean.dtype)
  u = mean + std * noise
  log_prob = (jnp.sum(-0.5 * noise * noise - jnp.log(std), axis=-1)
              - 0.5 * mean.shape[-1] * math.log(2.0 * math.pi) - tanh_log_det_jacobian(u))
  return jnp.tanh(u), u, log_prob
