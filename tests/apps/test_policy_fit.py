"""experiments.policy_fit: the energy interception reaches every agent's critic, S2AC's own
estimate is exact where the policy is known in closed form, and a tiny command writes every field
and the figure."""

import json
import math
import os
import subprocess
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from scipy import integrate, stats

from softq import agents, energies, policy_fit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIXTURE = energies.parse("two_unequal")


def test_every_agent_sees_the_energy_as_its_critic():
  """Under the interception, `q_values` of SAC, S2AC and SQL is the energy (a plain critic
  network would give something else)."""
  a = jax.random.uniform(jax.random.PRNGKey(1), (7, 2), minval=-1, maxval=1)
  obs = jnp.zeros((7, 1))
  for algo in ("sac", "s2ac", "sql"):
    point = {"alpha": 1.0, "num_particles": 4, "num_steps": 1, "step_size": 0.1,
             "bandwidth": "median", "log_det": "trace"}
    name, config = policy_fit.agent_config(algo, point)
    agent = agents.AGENTS[name]
    state = agent.init(config, jax.random.PRNGKey(0), 1, 2)
    with nn.intercept_methods(policy_fit.energy_critic(MIXTURE)):
      q = agent.q_values(config, state.params, obs, a)
    np.testing.assert_allclose(q, energies.value(MIXTURE, a), rtol=1e-6)
    assert not np.allclose(agent.q_values(config, state.params, obs, a), q)


def test_s2ac_estimate_is_exact_without_svgd_steps():
  """S2AC(φ) with L = 0 is `tanh` of `N(0, 0.5²)` truncated at 3 std: its closed-form estimate
  (2 560 particles) is within Monte Carlo error of the exact entropy by quadrature, and the
  fit record reports it; nothing is above the box bound."""
  point = {"alpha": 1.0, "num_particles": 10, "num_steps": 0, "step_size": 0.1,
           "bandwidth": "median", "log_det": "trace"}
  target = energies.boltzmann_target(MIXTURE, 1.0, cells=200)
  fit, samples = policy_fit.fit_policy("s2ac_fixed", point, MIXTURE, target,
                                       jax.random.PRNGKey(0), 0, 2000)
  law = stats.truncnorm(-3, 3, scale=0.5)
  log_jacobian = integrate.quad(lambda u: law.pdf(u) * np.log1p(-np.tanh(u) ** 2), -1.5, 1.5)[0]
  exact = 2 * (law.entropy() + log_jacobian)
  assert abs(fit["entropy_estimate"] - exact) < 0.05, (fit["entropy_estimate"], exact)
  assert fit["estimate_above_box_bound"] is False
  assert samples.shape == (2000, 2) and np.all(np.abs(samples) < 1)
  np.testing.assert_allclose(fit["entropy_true"], energies.entropy(target))


def test_a_tiny_command_writes_every_field_and_the_figure(tmp_path):
  out = str(tmp_path / "fit")
  proc = subprocess.run(
      [sys.executable, "-m", "experiments.policy_fit", "--algo", "s2ac_fixed",
       "--energy", "mixture:0.7@-0.5,0.3~0.2;0.3@0.5,-0.3~0.2", "--alpha", "0.5,2",
       "--num_steps", "1", "--iterations", "2", "--samples", "1000", "--out", out],
      cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(os.path.join(out, "results.json")) as f:
    results = json.load(f)
  assert set(results["targets"]) == {"0.5", "2.0"}
  for target in results["targets"].values():
    assert math.isclose(sum(target["mode_mass_true"]), 1.0, abs_tol=1e-9)
    assert target["entropy_true"] < target["box_entropy_bound"]
  assert [(f["algo"], f["alpha"]) for f in results["fits"]] == [
      ("s2ac_fixed", 0.5), ("s2ac_fixed", 2.0)]
  for fit in results["fits"]:
    assert math.isclose(sum(fit["mode_mass_policy"]), 1.0, abs_tol=1e-9)
    assert 0.0 <= fit["tv_binned"] <= 1.0 and fit["finite"]
    for field in ("entropy_estimate", "kl_via_estimate", "saturated_fraction", "mode_mass_true",
                  "estimate_above_box_bound", "num_particles", "num_steps", "log_det"):
      assert fit[field] is not None, field
  # The cooler target is more concentrated.
  assert results["targets"]["0.5"]["entropy_true"] < results["targets"]["2.0"]["entropy_true"]
  for alpha in ("0.5", "2"):
    assert os.path.getsize(os.path.join(out, f"samples_alpha{alpha}.png")) > 10_000
