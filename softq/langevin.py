"""Langevin and HMC samplers carrying the change-of-variables log-density estimate (§3.2, §3.10).

These are the baselines of the entropy-evaluation study: each sampler moves particles with the
target score and updates `log q` by the change of variables of its map: SGLD and deterministic
Langevin with the same first-order formula as SVGD, `log q^{l+1} = log q^l - tr(d drift / du)`
(§3.2), HMC with the exact log-det of its leapfrog trajectory. The updates are not invertible
maps of the particle distribution (noise, or a freshly drawn velocity), so the estimate is
*expected to be wrong* (Messaoud et al. 2024, Prop. 3.4); that failure is what §3.10 shows.

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


def score_and_jacobian(score_fn: ScoreFn, particles: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Scores and each particle's score Jacobian `grad g(u_i)` (the Hessian of log p).

  Args:
    score_fn: per-particle score, `[..., m, d] -> [..., m, d]`.
    particles: `[..., m, d]`.
  Returns:
    `(scores, jacobian)`: `[..., m, d]`, `[..., m, d, d]`, `jacobian[..., a, b] = d g_a / d u_b`.
  """
  scores, jvp = jax.linearize(score_fn, particles)
  d = particles.shape[-1]
  basis = jnp.eye(d, dtype=particles.dtype)
  columns = [jvp(jnp.broadcast_to(basis[k], particles.shape)) for k in range(d)]
  return scores, jnp.stack(columns, axis=-1)


def leapfrog(
    score_fn: ScoreFn,
    particles: jax.Array,
    velocity: jax.Array,
    step_size,
    num_leapfrog: int,
) -> tuple[jax.Array, jax.Array]:
  """`L` leapfrog steps from `(u, v)` and the log-det of the map `u_0 -> u_L` at fixed `v` (§3.10).

  Kick `v <- v + c eps g(u)` (`c = 1/2` for the first kick, 1 after), drift `u <- u + eps v`. The
  Jacobian `J = d u / d u_0` is carried with `K = d v / d u_0` (`J = I`, `K = 0` at the start):
  a kick adds `c eps grad g(u) J` to `K`, a drift adds `eps K` to `J`. This is exact; to first
  order its log-det is `eps^2 sum_k c_k (L - k) tr grad g`, `L^2/2 eps^2 tr grad g` for a
  quadratic target. The closing half kick only changes the discarded velocity and is omitted.

  Args:
    score_fn: `[..., m, d] -> [..., m, d]`.
    particles: `u_0`, `[..., m, d]`.
    velocity: `v_0`, `[..., m, d]`.
    step_size: `eps`.
    num_leapfrog: `L >= 1`.
  Returns:
    `(u_L, log_det)`: `[..., m, d]`, `[..., m]` (`log |det d u_L / d u_0|`).
  """
  if num_leapfrog < 1:
    raise ValueError(f"num_leapfrog must be >= 1, got {num_leapfrog}")
  d = particles.shape[-1]
  kick_scale = jnp.ones((num_leapfrog,), dtype=particles.dtype).at[0].set(0.5)
  jac_u = jnp.broadcast_to(jnp.eye(d, dtype=particles.dtype), particles.shape + (d,))

  def one(carry, c):
    u, v, jac_u, jac_v = carry
    scores, hessian = score_and_jacobian(score_fn, u)
    v = v + c * step_size * scores
    jac_v = jac_v + c * step_size * hessian @ jac_u
    return (u + step_size * v, v, jac_u + step_size * jac_v, jac_v), None

  (u, _, jac_u, _), _ = jax.lax.scan(
      one, (particles, velocity, jac_u, jnp.zeros_like(jac_u)), kick_scale)
  return u, jnp.linalg.slogdet(jac_u)[1]


def hmc_sample(
    score_fn: ScoreFn,
    particles: jax.Array,
    log_density: jax.Array,
    num_steps: int,
    step_size,
    num_leapfrog: int,
    key: jax.Array,
) -> tuple[jax.Array, jax.Array]:
  """Hamiltonian Monte Carlo (leapfrog, unit mass, no accept step) with the change-of-variables
  estimate (§3.10).

  Each of the `num_steps` iterations draws a fresh velocity `v ~ N(0, I)` and runs `leapfrog`.
  Conditioned on the velocity (the only way HMC is invertible, Messaoud et al. 2024, App. G.2)
  the iteration maps `u_0 -> u_L`, so `log q <- log q - log |det d u_L / d u_0|`, the exact
  log-det of the whole trajectory.

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

  def step(carry, step_key):
    u, log_q = carry
    v = jax.random.normal(step_key, u.shape, dtype=u.dtype)
    u, log_det = leapfrog(score_fn, u, v, step_size, num_leapfrog)
    return (u, log_q - log_det), None

  (particles, log_density), _ = jax.lax.scan(
      step, (particles, log_density), jax.random.split(key, num_steps))
  return particles, log_density
