"""Policy-fit study: each policy class trained with its own losses toward a known energy (§3.11).

No RL and no critic learning: the critic of every agent is replaced by a fixed energy
`Q(a) = log sum_k W_k N(a; mu_k, S_k^2 I)` on the action box (one dummy state), so the actor's
target is the Boltzmann policy `p(a) ∝ exp(Q(a) / alpha)`. The agents run their own `update`
(flax method interception swaps the critic network's output for the energy; critic gradients
are then zero), then `act` draws samples and `entropy` gives the policy's own estimate.

  python -m experiments.policy_fit --algo s2ac,s2ac_fixed,s2ac_amortized,sac,sql \
      --energy three_goal --alpha 0.2,1 --num_steps 3,10 --out DIR

Comma lists of --alpha, --num_particles (m), --num_steps (L), --step_size (eps), --bandwidth
and --log_det are swept (their product; SAC takes only alpha, SQL alpha, m and the bandwidth).
Writes DIR/results.json (target entropy and component masses by quadrature, each fit's estimate,
sample masses, binned total variation, saturation) and DIR/samples_alpha{A}.png.
"""

import itertools
import json
import math
import os

from absl import flags
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from softq import agents, cli, energies, kernels, launch, networks, plotting, stein
from softq.types import Transition

FLAGS = flags.FLAGS
ALGOS = ("s2ac", "s2ac_fixed", "s2ac_amortized", "sac", "sql")
launch.define_output(None)
flags.DEFINE_string("algo", "s2ac,sac,sql", f"comma list of {', '.join(ALGOS)}")
flags.DEFINE_string("energy", "three_goal",
                    f"{energies.SPEC_FORMAT}, or one of {', '.join(energies.PRESETS)}")
flags.DEFINE_string("alpha", "1", "comma list of temperatures (> 0)")
flags.DEFINE_string("num_particles", "10", "comma list of particle counts m (>= 2)")
flags.DEFINE_string("num_steps", "10", "comma list of S2AC SVGD steps L (>= 0)")
flags.DEFINE_string("step_size", "0.1", "comma list of S2AC SVGD step sizes eps (> 0)")
flags.DEFINE_string("bandwidth", "median",
                    f"comma list of bandwidth rules ({', '.join(kernels.BANDWIDTHS)}) or numbers")
flags.DEFINE_string("log_det", "trace",
                    f"comma list of S2AC log-det forms ({', '.join(stein.LOG_DETS)})")
flags.DEFINE_integer("iterations", 2000, "actor updates per fit (>= 0)")
flags.DEFINE_integer("samples", 10000, "policy samples per fit (>= 1000)")
flags.DEFINE_integer("seed", 0, "PRNG seed")

SATURATION = 0.995  # |a| beyond this: tanh saturated (pre-tanh |u| > 3)


def main(argv):
  del argv
  algos, mixture, sweep = _validate_flags()
  out = launch.output_dir()
  results = {**launch.results_core("policy_fit"), "energy": FLAGS.energy,
             "mixture": {k: v.tolist() for k, v in mixture._asdict().items()},
             "iterations": FLAGS.iterations, "samples": FLAGS.samples, "seed": FLAGS.seed,
             "targets": {}, "fits": []}
  runs = [(algo, point) for algo in algos for point in _points(algo, sweep)]
  targets = {}
  for alpha in sweep["alpha"]:
    target = energies.boltzmann_target(mixture, alpha, cells=400 if mixture.dim < 3 else 60)
    targets[alpha] = target
    results["targets"][str(alpha)] = {
        "entropy_true": energies.entropy(target),
        "box_entropy_bound": mixture.dim * math.log(2.0),
        "mode_mass_true": energies.component_masses(mixture, target).tolist(),
        "log_normalizer": target.log_normalizer}
  key = jax.random.PRNGKey(FLAGS.seed)
  samples_by_alpha = {alpha: [] for alpha in sweep["alpha"]}
  for algo, point in tqdm.tqdm(runs, desc="policy_fit", unit="fit"):
    fit, samples = fit_policy(algo, point, mixture, targets[point["alpha"]], key,
                              FLAGS.iterations, FLAGS.samples)
    results["fits"].append(fit)
    samples_by_alpha[point["alpha"]].append((_label(algo, point), samples, fit))
  with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
  if mixture.dim <= 2:
    for alpha, panels in samples_by_alpha.items():
      target = targets[alpha]
      cells = round(len(target.probs) ** (1.0 / mixture.dim))
      density = (target.probs / target.cell_volume).reshape((cells,) * mixture.dim)
      shown = [(label, samples, f"TV {fit['tv_binned']:.3f}, H est. "
                + ("—" if fit["entropy_estimate"] is None else f"{fit['entropy_estimate']:.2f}"))
               for label, samples, fit in panels]
      plotting.policy_fit_figure(
          os.path.join(out, f"samples_alpha{alpha:g}.png"), density, mixture.means, shown,
          f"Policies fitted to exp(Q/α), α = {alpha:g}, true entropy "
          f"{results['targets'][str(alpha)]['entropy_true']:.3f} nats")
  for fit in results["fits"]:
    print(json.dumps({k: fit[k] for k in ("algo", "alpha", "entropy_estimate",
                                           "mode_mass_policy", "tv_binned")}))


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
  name, config = _agent_config(algo, point)
  agent = agents.AGENTS[name]
  k_init, k_act, k_entropy = jax.random.split(key, 3)
  batch = _dummy_batch(config.batch_size, mixture.dim)

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
                if _has_estimate(algo) else jnp.zeros((256,)))
    return samples, estimate

  with nn.intercept_methods(_energy_critic(mixture)):
    state = train(agent.init(config, k_init, 1, mixture.dim))
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
  if _has_estimate(algo):
    h = float(np.mean(np.asarray(estimate)))
    fit["entropy_estimate"] = h
    fit["estimate_above_box_bound"] = h > mixture.dim * math.log(2.0)
    # KL(pi || p) = E_pi log pi - E_pi Q / alpha + log Z, with the policy's own log-density.
    fit["kl_via_estimate"] = -h - float(np.mean(q)) / point["alpha"] + target.log_normalizer
  return fit, samples


def _energy_critic(mixture: energies.Mixture):
  """A flax interceptor: critic networks return the energy `Q(a)` (twin: stacked twice)."""
  def interceptor(next_fun, args, kwargs, context):
    if context.method_name == "__call__":
      if isinstance(context.module, networks.TwinQNetwork):
        q = energies.value(mixture, args[1])
        return jnp.stack([q, q])
      if isinstance(context.module, networks.QNetwork):
        return energies.value(mixture, args[1])
    return next_fun(*args, **kwargs)
  return interceptor


def _agent_config(algo: str, point: dict):
  """`(agent name, Config)` for one fit: the agent's defaults with the swept values."""
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


def _has_estimate(algo: str) -> bool:
  """Whether the samples come from a policy with its own entropy estimate."""
  return algo in ("s2ac", "s2ac_fixed", "sac")


def _points(algo: str, sweep: dict) -> list[dict]:
  """The sweep points an algorithm takes (unused axes held at their first value)."""
  used = {"sac": ("alpha",), "sql": ("alpha", "num_particles", "bandwidth")}.get(
      algo, tuple(sweep))
  axes = [sweep[name] if name in used else sweep[name][:1] for name in sweep]
  points = [dict(zip(sweep, values)) for values in itertools.product(*axes)]
  for p in points:
    for name in sweep:
      if name not in used:
        p[name] = None
  return points


SYMBOLS = {"num_particles": "m", "num_steps": "L", "step_size": "ε", "bandwidth": "h",
           "log_det": "log-det"}


def _label(algo: str, point: dict) -> str:
  shown = [f"{SYMBOLS[k]}={v}" for k, v in point.items() if v is not None and k != "alpha"]
  return algo + (f" ({', '.join(shown)})" if shown else "")


def _dummy_batch(batch_size: int, dim: int) -> Transition:
  """One dummy state (obs `[B, 1]` of zeros); rewards and flags are unused by the actor."""
  zeros = jnp.zeros((batch_size,))
  return Transition(obs=jnp.zeros((batch_size, 1)), action=jnp.zeros((batch_size, dim)),
                    reward=zeros, next_obs=jnp.zeros((batch_size, 1)), terminal=zeros,
                    truncated=zeros)


def _parse_list(flag: str, kind, check, accepted: str) -> list:
  values = []
  for raw in getattr(FLAGS, flag).split(","):
    try:
      value = kind(raw)
    except ValueError:
      value = None
    if value is None or not check(value):
      cli.fail(f"--{flag} has {raw!r}; accepted: a comma list of {accepted}")
    values.append(value)
  return values


def _bandwidth(raw: str):
  if raw in kernels.BANDWIDTHS:
    return raw
  return float(raw)


def _validate_flags():
  algos = FLAGS.algo.split(",")
  for algo in algos:
    if algo not in ALGOS:
      cli.fail(f"--algo has {algo!r}; accepted: a comma list of {', '.join(ALGOS)}")
  try:
    mixture = energies.parse(FLAGS.energy)
  except ValueError as e:
    cli.fail(f"--energy: {e}")
  if mixture.dim > 3:
    cli.fail(f"--energy has d={mixture.dim} coordinates; accepted: d <= 3 (quadrature)")
  sweep = {
      "alpha": _parse_list("alpha", float, lambda x: math.isfinite(x) and x > 0, "numbers > 0"),
      "num_particles": _parse_list("num_particles", int, lambda x: x >= 2, "integers >= 2"),
      "num_steps": _parse_list("num_steps", int, lambda x: x >= 0, "integers >= 0"),
      "step_size": _parse_list("step_size", float, lambda x: math.isfinite(x) and x > 0,
                               "numbers > 0"),
      "bandwidth": _parse_list(
          "bandwidth", _bandwidth,
          lambda x: isinstance(x, str) or (math.isfinite(x) and x > 0),
          f"{', '.join(kernels.BANDWIDTHS)} or numbers > 0"),
      "log_det": _parse_list("log_det", str, lambda x: x in stein.LOG_DETS,
                             ", ".join(stein.LOG_DETS)),
  }
  if "sql" in algos and any(not isinstance(b, str) for b in sweep["bandwidth"]):
    cli.fail("--bandwidth: sql takes only named rules; accepted: "
             + ", ".join(kernels.BANDWIDTHS))
  if FLAGS.iterations < 0:
    cli.fail(f"--iterations must be >= 0, got {FLAGS.iterations}")
  if FLAGS.samples < 1000:
    cli.fail(f"--samples must be >= 1000, got {FLAGS.samples}")
  return algos, mixture, sweep


if __name__ == "__main__":
  cli.run(main)
