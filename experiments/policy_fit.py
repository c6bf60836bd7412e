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
import jax
import tqdm

from softq import cli, energies, kernels, launch, plotting, stein
from softq.policy_fit import ALGOS, fit_policy

FLAGS = flags.FLAGS
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
