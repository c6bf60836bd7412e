"""Langevin and HMC samplers carrying the change-of-variables log-density estimate (§3.2, §3.10).

These are the baselines of the entropy-evaluation study: each sampler moves particles with the
target score and updates `log q` with the same first-order formula as SVGD,
`log q^{l+1} = log q^l - tr(d drift / du)` (§3.2). The updates are not invertible maps of the
particle distribution (noise, or a freshly drawn velocity), so the estimate is *expected to be
wrong* (Messaoud et al. 2024, Prop. 3.4); that failure is what §3.10 demonstrates.

`score_fn: [..., m, d] -> [..., m, d]` must act on each particle independently (the trace is taken
with `d` Jacobian-vector products, one per coordinate, shared by all particles).
"""

from typing import Callable

import jax
import jax.numpy as jnp

ScoreFn = Callable[[jax.Array], jax.Array]


def score_and_laplacian(score_fn: ScoreFn, particles: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Scores and each particle's score-Jacobian trace `tr grad g(u_i)` (the Laplacian of log p).

  Args:
    score_fn: per-particle score, `[..., m, d] -> [..., m, d]`.
    particles: `[..., m, d]`.
  Returns:
    `(scores, laplacian)`: `[..., m, d]`, `[..., m]`.
  """
  scores, jvp = jax.linearize(score_fn, particles)
  d = particles.shape[-1]
  basis = jnp.eye(d, dtype=particles.dtype)
  laplacian = sum(jvp(jnp.broadcast_to(basis[k], particles.shape))[..., k] for k in range(d))
  return scores, laplacian


def langevin_sample(
    score_fn: ScoreFn,
    particles: jax.Array,
    log_density: jax.Array,
    num_steps: int,
    step_size,
    noise_var,
    key: jax.Array,
) -> tuple[jax.Array, jax.Array]:
  """Stochastic gradient Langevin dynamics (SGLD) with the change-of-variables estimate (§3.10).

  `u <- u + eps g(u) + sqrt(noise_var) xi`, `xi ~ N(0, I)`;
  `log q <- log q - eps tr grad g(u)` (the noise is ignored: it makes the map non-invertible).

  Args:
    score_fn: `[..., m, d] -> [..., m, d]`.
    particles: `[..., m, d]`.
    log_density: `[..., m]`.
    num_steps: `L >= 0`.
    step_size: `eps`.
    noise_var: variance of the injected noise per coordinate (§3.10: 0.05).
    key: PRNG key.
  Returns:
    `(particles, log_density)`: `[..., m, d]`, `[..., m]`.
  """
  def step(carry, step_key):
    u, log_q = carry
    scores, laplacian = score_and_laplacian(score_fn, u)
    noise = jax.random.normal(step_key, u.shape, dtype=u.dtype)
    return (u + step_size * scores + jnp.sqrt(noise_var) * noise,
            log_q - step_size * laplacian), None

  (particles, log_density), _ = jax.lax.scan(
      step, (particles, log_density), jax.random.split(key, num_steps))
  return particles, log_density


def deterministic_langevin_sample(
    score_fn: ScoreFn,
    particles: jax.Array,
    log_density: jax.Array,
    num_steps: int,
    step_size,
) -> tuple[jax.Array, jax.Array]:
  """Deterministic Langevin dynamics (DLD, gradient ascent on log p) with the same estimate (§3.10).

  `u <- u + eps g(u)`, `log q <- log q - eps tr grad g(u)`. Invertible for small `eps`, but it
  collapses every particle onto the modes, so `q^L` is not the target.

  Args:
    score_fn: `[..., m, d] -> [..., m, d]`.
    particles: `[..., m, d]`.
    log_density: `[..., m]`.
    num_steps: `L >= 0`.
    step_size: `eps`.
  Returns:
    `(particles, log_density)`: `[..., m, d]`, `[..., m]`.
  """
  def step(carry, _):
    u, log_q = carry
    scores, laplacian = score_and_laplacian(score_fn, u)
    return (u + step_size * scores, log_q - step_size * laplacian), None

  (particles, log_density), _ = jax.lax.scan(
      step, (particles, log_density), None, length=num_steps)
  return particles, log_density


def hmc_sample(
    score_fn: ScoreFn,
    particles: jax.Array,
    log_density: jax.Array,
    num_steps: int,
    step_size,
    num_leapfrog: int,
    key: jax.Array,
) -> tuple[jax.Array, jax.Array]:
  """Hamiltonian Monte Carlo (leapfrog, unit mass, no accept step) with the same estimate (§3.10).

  Each of the `num_steps` iterations draws a fresh velocity `v ~ N(0, I)` and runs `num_leapfrog`
  leapfrog steps: kick `v <- v + c eps g(u)` (`c = 1/2` for the first kick, 1 after), drift
  `u <- u + eps v`. Conditioned on the velocity (the only way HMC is invertible, Messaoud et al.
  2024, App. G.2),
  each kick-drift maps `u -> u + eps v + c eps^2 g(u)`, so `log q <- log q - c eps^2 tr grad g(u)`.
  The closing half kick only changes the discarded velocity.

  Args:
    score_fn: `[..., m, d] -> [..., m, d]`.
    particles: `[..., m, d]`.
    log_density: `[..., m]`.
    num_steps: iterations (velocity refreshes), `>= 0`.
    step_size: leapfrog `eps`.
    num_leapfrog: leapfrog steps per iteration, `>= 1`.
    key: PRNG key.
  Returns:
    `(particles, log_density)`: `[..., m, d]`, `[..., m]`.
  """
  if num_leapfrog < 1:
    raise ValueError(f"num_leapfrog must be >= 1, got {num_leapfrog}")
  kick_scale = jnp.ones((num_leapfrog,), dtype=particles.dtype).at[0].set(0.5)

  def leapfrog(carry, c):
    u, v, log_q = carry
    scores, laplacian = score_and_laplacian(score_fn, u)
    v = v + c * step_size * scores
    return (u + step_size * v, v, log_q - c * step_size**2 * laplacian), None

  def step(carry, step_key):
    u, log_q = carry
    v = jax.random.normal(step_key, u.shape, dtype=u.dtype)
    (u, _, log_q), _ = jax.lax.scan(leapfrog, (u, v, log_q), kick_scale)
    return (u, log_q), None

  (particles, log_density), _ = jax.lax.scan(
      step, (particles, log_density), jax.random.split(key, num_steps))
  return particles, log_density
