"""Entropy-evaluation study of Messaoud et al. 2024 §4.1 / App. I (§3.10).

Estimates the entropy of a sampler's particles through the change-of-variables log-density
(§3.2–§3.3) and compares it with the truth:

  (a) Gaussian target (analytic 3.4112 nats): SVGD vs SGLD, deterministic Langevin and HMC;
  (b) SVGD kernel-width sweep with fixed `k = exp(-|Δ|²/(2σ²))`;
  (c) Gaussian mixtures with 1, 2, 4, 6 components vs a Monte Carlo truth, in d = 2 and higher d.

Every estimate is reported against the number of steps (never tuned per target).

  python -m experiments.entropy_eval --out DIR

writes DIR/results.json and DIR/{gaussian,kernel_width,mixtures}.png.
"""

import json
import math
import os

from absl import flags
import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from softq import cli, launch
from softq import distributions
from softq import langevin
from softq import plotting
from softq import stein

FLAGS = flags.FLAGS
launch.define_output(None)
flags.DEFINE_integer("seeds", 4, "independent particle sets per configuration (> 0)")
flags.DEFINE_integer("particles", 200, "SVGD particles m for (a) and (c) (>= 2)")
flags.DEFINE_integer("steps", 100, "headline number of steps L (> 0); curves run to 2L")
flags.DEFINE_integer("record_every", 10, "steps between recorded estimates (> 0, divides --steps)")
flags.DEFINE_integer("high_dim", 4, "the higher dimension of the mixture study (> 2)")
flags.DEFINE_integer("mc_samples", 200_000, "Monte Carlo samples for mixture ground truth (> 0)")

GAUSSIAN_MEAN = (-0.6871, 0.8010)
GAUSSIAN_COV = ((5 * 0.2260, 5 * 0.1652), (5 * 0.1652, 5 * 0.6779))
INITIAL_VAR = 6.0
STEP_SIZE = 0.5
SGLD_NOISE_VAR = 0.05
HMC_LEAPFROG = 5
KERNEL_SIGMAS = (0.1, 1.0, 3.0, 5.0, 7.0, 10.0, 100.0)
KERNEL_PARTICLES = 100
MIXTURE_COMPONENTS = (1, 2, 4, 6)


def main(argv):
  del argv
  _validate_flags()

  jax.config.update("jax_enable_x64", True)
  key = jax.random.PRNGKey(0)
  keys = jax.random.split(key, 3)
  stages = tqdm.tqdm(total=3, desc="entropy_eval")
  results = {**launch.results_core("entropy_eval"), "config": _config()}
  results["gaussian"] = gaussian_study(keys[0])
  stages.update()
  results["kernel_width"] = kernel_width_study(keys[1])
  stages.update()
  results["mixtures"] = mixture_study(keys[2])
  stages.update()
  stages.close()
  results["findings"] = _findings(results)
  with open(os.path.join(FLAGS.out, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
  _plot(results)
  print(json.dumps(results["findings"], indent=1))


# --------------------------------------------------------------------------------------------
# Targets


def gaussian_target():
  """The §3.10 Gaussian: `(mean [2], cov [2, 2], analytic entropy)`."""
  mean, cov = jnp.array(GAUSSIAN_MEAN), jnp.array(GAUSSIAN_COV)
  entropy = 0.5 * jnp.linalg.slogdet(2 * math.pi * math.e * cov)[1]
  return mean, cov, float(entropy)


def mixture_means(num_components: int, dim: int):
  """Component means `4 (sin 2πi/n, cos 2πi/n, 0, ..., 0)`, `[n, dim]` (§3.10)."""
  i = jnp.arange(num_components)
  angle = 2 * jnp.pi * i / num_components
  plane = 4.0 * jnp.stack([jnp.sin(angle), jnp.cos(angle)], axis=-1)
  return jnp.concatenate([plane, jnp.zeros((num_components, dim - 2))], axis=-1)


def mixture_log_density(x, means):
  """Correctly normalised equal-weight mixture of unit-variance Gaussians.

  `log p(x) = logsumexp_i(-|x - mu_i|²/2) - (d/2) log 2π - log n`.

  Args:
    x: `[..., d]`.
    means: `[n, d]`.
  Returns:
    `[...]`.
  """
  d, n = means.shape[-1], means.shape[0]
  sq = jnp.sum(jnp.square(x[..., None, :] - means), axis=-1)
  return jax.nn.logsumexp(-0.5 * sq, axis=-1) - 0.5 * d * math.log(2 * math.pi) - math.log(n)


def mixture_entropy_mc(key, means, num_samples: int) -> float:
  """Monte Carlo truth `-E_p log p(x)` of `mixture_log_density` (§3.10)."""
  k_comp, k_noise = jax.random.split(key)
  comp = jax.random.randint(k_comp, (num_samples,), 0, means.shape[0])
  x = means[comp] + jax.random.normal(k_noise, (num_samples, means.shape[1]))
  return float(-mixture_log_density(x, means).mean())


# --------------------------------------------------------------------------------------------
# Studies


def gaussian_study(key):
  """(a): estimates of SVGD, SGLD, DLD and HMC against the analytic entropy, vs steps."""

  mean, cov, truth = gaussian_target()
  precision = jnp.linalg.inv(cov)
  score_fn = lambda u: -(u - mean) @ precision
  u0, log_q0 = _initial(key, (FLAGS.seeds, FLAGS.particles, 2))
  k_sgld, k_hmc = jax.random.split(jax.random.fold_in(key, 1))
  chunk = FLAGS.record_every
  samplers = {
      "svgd": lambda u, lq, k: stein.svgd_sample(score_fn, u, lq, chunk, STEP_SIZE),
      "sgld": lambda u, lq, k: langevin.langevin_sample(
          score_fn, u, lq, chunk, STEP_SIZE, SGLD_NOISE_VAR, k),
      "dld": lambda u, lq, k: langevin.deterministic_langevin_sample(
          score_fn, u, lq, chunk, STEP_SIZE),
      "hmc": lambda u, lq, k: langevin.hmc_sample(
          score_fn, u, lq, chunk, STEP_SIZE, HMC_LEAPFROG, k),
  }
  sampler_keys = {"svgd": key, "sgld": k_sgld, "dld": key, "hmc": k_hmc}
  out = {"truth": truth, "initial_entropy": 0.5 * 2 * math.log(2 * math.pi * math.e * INITIAL_VAR)}
  for name, run in samplers.items():
    curve, _ = _curve(jax.jit(run), u0, log_q0, sampler_keys[name])
    particles = curve.pop("particles_at_L")
    out[name] = _summary(curve, truth) | {
        "fitted_gaussian_entropy_at_L": _fitted_gaussian_entropy(particles),
        "particles_seed0_at_L": particles[0].tolist()}
  return out


def kernel_width_study(key):
  """(b): SVGD with fixed `h = 2σ²` for each σ, all widths in one batched program."""

  mean, cov, truth = gaussian_target()
  precision = jnp.linalg.inv(cov)
  score_fn = lambda u: -(u - mean) @ precision
  u0, log_q0 = _initial(key, (FLAGS.seeds, KERNEL_PARTICLES, 2))
  n_sig = len(KERNEL_SIGMAS)
  u0 = jnp.broadcast_to(u0, (n_sig,) + u0.shape)
  log_q0 = jnp.broadcast_to(log_q0, (n_sig,) + log_q0.shape)
  h = 2.0 * jnp.square(jnp.array(KERNEL_SIGMAS))[:, None]  # [n_sig, 1] broadcasts over seeds
  run = jax.jit(lambda u, lq, k: stein.svgd_sample(
      score_fn, u, lq, FLAGS.record_every, STEP_SIZE, bandwidth=h))
  curve, _ = _curve(run, u0, log_q0, key)
  curve.pop("particles_at_L")
  est = jnp.array(curve["per_seed"])  # [records, n_sig, seeds]
  steps = curve["steps"]
  at_l = est[steps.index(FLAGS.steps)]
  return {
      "truth": truth, "sigmas": list(KERNEL_SIGMAS), "particles": KERNEL_PARTICLES,
      "steps": steps,
      "estimate_vs_steps": est.mean(-1).T.tolist(),  # [n_sig][records]
      "estimate_at_L": at_l.mean(-1).tolist(),
      "estimate_at_L_per_seed": at_l.tolist(),
      "abs_error_at_L": jnp.abs(at_l.mean(-1) - truth).tolist(),
  }


def mixture_study(key):
  """(c): SVGD estimates for 1/2/4/6-component mixtures vs Monte Carlo truth, d = 2 and high d."""

  out = {}
  for dim in (2, FLAGS.high_dim):
    rows = {"components": list(MIXTURE_COMPONENTS), "truth": [], "estimate_at_L": [],
            "estimate_at_L_per_seed": [], "estimate_vs_steps": []}
    for n in MIXTURE_COMPONENTS:
      means = mixture_means(n, dim)
      score_fn = jax.grad(lambda x, mu=means: jnp.sum(mixture_log_density(x, mu)))
      k_init, k_mc = jax.random.split(jax.random.fold_in(key, 10 * dim + n))
      u0, log_q0 = _initial(k_init, (FLAGS.seeds, FLAGS.particles, dim))
      run = jax.jit(lambda u, lq, k, f=score_fn: stein.svgd_sample(
          f, u, lq, FLAGS.record_every, STEP_SIZE))
      curve, _ = _curve(run, u0, log_q0, k_init)
      est = jnp.array(curve["per_seed"])  # [records, seeds]
      at_l = est[curve["steps"].index(FLAGS.steps)]
      rows["truth"].append(mixture_entropy_mc(k_mc, means, FLAGS.mc_samples))
      rows["estimate_at_L"].append(float(at_l.mean()))
      rows["estimate_at_L_per_seed"].append(at_l.tolist())
      rows["estimate_vs_steps"].append(est.mean(-1).tolist())
      rows["steps"] = curve["steps"]
    out[f"d{dim}"] = rows
  return out


# --------------------------------------------------------------------------------------------
# Helpers


def _initial(key, shape):
  """`N(0, 6 I)` particles `[..., m, d]` and their exact log-density `[..., m]`."""
  u0 = math.sqrt(INITIAL_VAR) * jax.random.normal(key, shape)
  return u0, distributions.gaussian_log_prob(u0, 0.0, math.sqrt(INITIAL_VAR))


def _curve(run, u, log_q, key):
  """Runs `run` in chunks of `--record_every` steps up to `2 L`, recording `-mean log q` per set."""
  steps, per_seed, at_l = [0], [(-log_q.mean(-1)).tolist()], None
  num_chunks = 2 * FLAGS.steps // FLAGS.record_every
  for c in range(num_chunks):
    u, log_q = run(u, log_q, jax.random.fold_in(key, c))
    steps.append((c + 1) * FLAGS.record_every)
    per_seed.append((-log_q.mean(-1)).tolist())
    if steps[-1] == FLAGS.steps:
      at_l = u
  return {"steps": steps, "per_seed": per_seed, "particles_at_L": at_l}, u


def _summary(curve, truth):
  """Mean-over-seeds estimate vs steps and at `L` for a `[records, seeds]` curve."""
  est = np.array(curve["per_seed"])
  at_l = est[curve["steps"].index(FLAGS.steps)]
  return {"steps": curve["steps"], "estimate_vs_steps": est.mean(-1).tolist(),
          "estimate_at_L": float(at_l.mean()), "estimate_at_L_per_seed": at_l.tolist(),
          "abs_error_at_L": float(abs(at_l.mean() - truth))}


def _fitted_gaussian_entropy(particles):
  """Entropy of a Gaussian fitted to each particle set, averaged over sets (a reference only)."""
  ents = []
  for u in np.asarray(particles):
    cov = np.cov(u.T)
    ents.append(0.5 * np.linalg.slogdet(2 * math.pi * math.e * cov)[1])
  return float(np.mean(ents))


def _findings(results):
  """The three findings of §3.10 as booleans, with the numbers they rest on."""
  g = results["gaussian"]
  kw = results["kernel_width"]
  errors = kw["abs_error_at_L"]
  mid = [e for s, e in zip(kw["sigmas"], errors) if 1.0 <= s <= 10.0]
  findings = {
      "svgd_recovers_gaussian_within_0.1": g["svgd"]["abs_error_at_L"] < 0.1,
      "sgld_dld_hmc_do_not_recover_within_0.5": all(
          g[k]["abs_error_at_L"] > 0.5 for k in ("sgld", "dld", "hmc")),
      "kernel_width_extremes_worse_than_best_middle": min(errors[0], errors[-1]) > min(mid),
  }
  for name, rows in results["mixtures"].items():
    est = rows["estimate_at_L"]
    findings[f"mixture_{name}_estimate_increases_with_components"] = all(
        a < b for a, b in zip(est, est[1:]))
  return findings


def _plot(results):
  """Writes gaussian.png, kernel_width.png and mixtures.png into --out."""
  g, kw, mix = results["gaussian"], results["kernel_width"], results["mixtures"]
  names = ("svgd", "sgld", "dld", "hmc")
  plotting.entropy_gaussian_figure(
      os.path.join(FLAGS.out, "gaussian.png"),
      {n: g[n]["particles_seed0_at_L"] for n in names}, {n: g[n]["estimate_at_L"] for n in names},
      g["svgd"]["steps"], {n: g[n]["estimate_vs_steps"] for n in names}, g["truth"], FLAGS.seeds,
      FLAGS.steps, target_mean=GAUSSIAN_MEAN, target_cov=GAUSSIAN_COV)
  plotting.entropy_kernel_width_figure(
      os.path.join(FLAGS.out, "kernel_width.png"), kw["sigmas"], kw["estimate_at_L_per_seed"],
      kw["steps"], kw["estimate_vs_steps"], kw["truth"], FLAGS.steps)
  plotting.entropy_mixtures_figure(
      os.path.join(FLAGS.out, "mixtures.png"),
      {f"d = {name[1:]}": {"components": rows["components"], "truth": rows["truth"],
                           "at_l_per_seed": rows["estimate_at_L_per_seed"],
                           "steps": rows["steps"], "curves": rows["estimate_vs_steps"]}
       for name, rows in mix.items()}, FLAGS.steps)


def _config():
  return {
      "seeds": FLAGS.seeds, "particles": FLAGS.particles, "steps_L": FLAGS.steps,
      "record_every": FLAGS.record_every, "step_size": STEP_SIZE, "initial_cov": "6 I",
      "bandwidth": "median heuristic recomputed each step (kernel sweep: fixed h = 2σ²)",
      "sgld_noise_var": SGLD_NOISE_VAR, "hmc_leapfrog": HMC_LEAPFROG,
      "kernel_particles": KERNEL_PARTICLES, "high_dim": FLAGS.high_dim,
      "mc_samples": FLAGS.mc_samples, "dtype": "float64",
  }


def _validate_flags():
  """One readable line and exit code 2 on bad input, before anything is compiled."""
  for name in ("seeds", "steps", "record_every", "mc_samples"):
    if getattr(FLAGS, name) <= 0:
      cli.fail(f"--{name} must be a positive integer, got {getattr(FLAGS, name)}")
  if FLAGS.particles < 2:
    cli.fail(f"--particles must be an integer >= 2, got {FLAGS.particles}")
  if FLAGS.high_dim <= 2:
    cli.fail(f"--high_dim must be an integer > 2, got {FLAGS.high_dim}")
  if FLAGS.steps % FLAGS.record_every:
    cli.fail(f"--record_every must divide --steps, got {FLAGS.record_every} and {FLAGS.steps}")
  launch.output_dir()


if __name__ == "__main__":
  cli.run(main)
