"""Fitting a policy class to a known energy with its own losses (§3.11): the library side of
`experiments.policy_fit`.

Each agent's critic networks are made to return a fixed energy `Q(a)` (flax method
interception), the agent's own `update` trains its actor toward `exp(Q/alpha)` on one dummy
state, and its `act` / `entropy` give samples and the policy's own entropy estimate, which
`fit_policy` compares with the exact target of `softq.energies`.
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from softq import agents, energies, networks
from softq.types import Transition

ALGOS = ("s2ac", "s2ac_fixed", "s2ac_amortized", "sac", "sql")
SATURATION = 0.995  # |a| beyond this: tanh saturated (pre-tanh |u| > 3)


def fit_policy(algo: str, point: dict, mixture: energies.Mixture, target: energies.Target,
               key: jax.Array, iterations: int, num_samples: int) -> tuple[dict, np.ndarray]:
  """Trains one policy toward `exp(Q/alpha)` and measures it (§3.11).

  Args:
    algo: one of `ALGOS`.
    point: the swept values (`alpha`, `num_particles`, `num_steps`, `step_size`, `bandwidth`,
      `log_det`; `None` where the algorithm has no such setting).
    target: `energies.boltzmann_target(mixture, point["alpha"])`.
    iterations: agent updates.
    num_samples: policy samples measured.
  Returns:
    `(fit record, samples [num_samples, d])`.
  """
  name, config = agent_config(algo, point)
  agent = agents.AGENTS[name]
  k_init, k_act, k_entropy = jax.random.split(key, 3)
  batch = dummy_batch(config.batch_size, mixture.dim)

  @jax.jit
  def train(state):
    def step(state, _):
      return agent.update(config, state, batch)[0], None
    return jax.lax.scan(step, state, None, length=iterations)[0]

  @jax.jit
  def measure(params):
    obs = jnp.zeros((num_samples, 1))
    mode = "random" if algo == "s2ac_amortized" else "explore"
    samples = agent.act(config, params, obs, k_act, mode)
    estimate = (agent.entropy(config, params, jnp.zeros((256, 1)), k_entropy)
                if has_estimate(algo) else jnp.zeros((256,)))
    return samples, estimate

  with nn.intercept_methods(energy_critic(mixture)):
    state = agent.init(config, k_init, 1, mixture.dim)
    if iterations:  # a zero-length scan would still compile the update
      state = train(state)
    samples, estimate = measure(state.params)
  samples = np.asarray(samples, np.float64)
  finite = bool(np.all(np.isfinite(samples)))
  q = np.asarray(energies.value(mixture, jnp.asarray(samples)))
  fit = {"algo": algo, **point, "finite": finite,
         "entropy_true": energies.entropy(target),
         "mode_mass_true": energies.component_masses(mixture, target).tolist(),
         "mode_mass_policy": energies.component_fractions(mixture, samples).tolist(),
         "tv_binned": energies.binned_total_variation(target, samples),
         "saturated_fraction": float(np.mean(np.any(np.abs(samples) > SATURATION, axis=-1))),
         "entropy_estimate": None, "estimate_above_box_bound": None, "kl_via_estimate": None}
  if has_estimate(algo):
    h = float(np.mean(np.asarray(estimate)))
    fit["entropy_estimate"] = h
    fit["estimate_above_box_bound"] = h > mixture.dim * math.log(2.0)
    # KL(pi || p) = E_pi log pi - E_pi Q / alpha + log Z, with the policy's own log-density.
    fit["kl_via_estimate"] = -h - float(np.mean(q)) / point["alpha"] + target.log_normalizer
  return fit, samples


def energy_critic(mixture: energies.Mixture):
  """A flax interceptor (§3.11): critic networks return the energy `Q(a)` for actions
  `[..., d]`, shaped `[...]` (`QNetwork`) or `[2, ...]` (`TwinQNetwork`, the same twice)."""
  def interceptor(next_fun, args, kwargs, context):
    if context.method_name == "__call__":
      if isinstance(context.module, networks.TwinQNetwork):
        q = energies.value(mixture, args[1])
        return jnp.stack([q, q])
      if isinstance(context.module, networks.QNetwork):
        return energies.value(mixture, args[1])
    return next_fun(*args, **kwargs)
  return interceptor


def agent_config(algo: str, point: dict):
  """`(agent name, Config)` for one fit: the agent's defaults with the swept values (§3.11)."""
  alpha = point["alpha"]
  if algo == "sac":
    return "sac", agents.sac.Config(alpha=alpha)
  if algo == "sql":
    return "sql", agents.sql.Config(alpha=alpha, kernel_particles=point["num_particles"],
                                    bandwidth=point["bandwidth"])
  variant = {"s2ac": "phi_theta", "s2ac_fixed": "phi", "s2ac_amortized": "amortized"}[algo]
  return "s2ac", agents.s2ac.Config(
      variant=variant, alpha=alpha, num_particles=point["num_particles"],
      num_steps=point["num_steps"], step_size=point["step_size"], bandwidth=point["bandwidth"],
      log_det=point["log_det"])


def has_estimate(algo: str) -> bool:
  """Whether the samples come from a policy with its own entropy estimate."""
  return algo in ("s2ac", "s2ac_fixed", "sac")


def dummy_batch(batch_size: int, dim: int) -> Transition:
  """One dummy state (obs `[B, 1]` of zeros); rewards and flags are unused by the actor."""
  zeros = jnp.zeros((batch_size,))
  return Transition(obs=jnp.zeros((batch_size, 1)), action=jnp.zeros((batch_size, dim)),
                    reward=zeros, next_obs=jnp.zeros((batch_size, 1)), terminal=zeros,
                    truncated=zeros)
