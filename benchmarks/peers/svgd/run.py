"""The `svgd` package (PyTorch, MET-SVGD authors): vanilla SVGD with log-density; one JSON line.

  .venv-peers/svgd/bin/python benchmarks/peers/svgd/run.py svgd \\
      '{"grid": [[M, D], ...], "steps": L}'

Run by `benchmarks.run` in the peer's own venv (torch 2.13 CPU). Matched to
`softq.stein.svgd_sample` (§3.3): target N(0, I), particles from N(2, I) with their exact
log-density, RBF kernel with the median heuristic (the package's `sigma^2 = median / (2 log(m+1))`
in `exp(-|x-y|^2 / (2 sigma^2))` is softq's `h = median / log(m+1)`), fixed step 0.1, no
divergence control, and `ij_term_density=False`: the log-density increment is the leave-one-out
trace (`j != i`, `1/(m-1)`), the form softq implements, so no Hutchinson estimate is drawn.
`sample_with_log_q` is called as documented; the median of `repeats` calls after one untimed call.
"""

import json
import statistics
import sys
import time

import torch
from svgd.distributions import Gaussian, TorchDistribution
from svgd.kernels import RBF
from svgd.kernels.parameters import HeuristicKP
from svgd.lrs import ParameterLR
from svgd.sampler import SVGD
from torch.distributions import MultivariateNormal


def svgd(grid: list, steps: int = 100, repeats: int = 5) -> list:
  """One row per `[m, d]` of `grid`."""
  return [_one(m, d, steps, repeats) for m, d in grid]


def _one(m, d, steps, repeats):
  torch.manual_seed(0)
  initial = Gaussian(torch.full((d,), 2.0), torch.ones(d))
  initial.requires_grad_(False)
  lr = ParameterLR(torch.tensor(0.1))
  lr.requires_grad_(False)
  sampler = SVGD(target_distribution=TorchDistribution(MultivariateNormal(torch.zeros(d),
                                                                           torch.eye(d))),
                 initial_distribution=initial, kernel=RBF(HeuristicKP("median")), lr=lr,
                 divergence_control=None, ij_term_density=False)
  sampler.sample_with_log_q(n_particles=m, n_steps=steps)
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    x, _, log_q = sampler.sample_with_log_q(n_particles=m, n_steps=steps)
    times.append(time.perf_counter() - start)
  return {"m": m, "d": d, "steps": steps, "ms": round(1e3 * statistics.median(times), 3),
          "entropy_estimate": float(-log_q.detach().mean()),
          "mean_norm": float(x.detach().mean(0).norm()),
          "torch": torch.__version__, "torch_threads": torch.get_num_threads()}


if __name__ == "__main__":
  print(json.dumps({"svgd": svgd}[sys.argv[1]](**json.loads(sys.argv[2]))))
