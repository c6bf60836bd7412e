"""sbx's SAC (JAX learner, Python env loop) on gymnasium `Pendulum-v1`; prints one JSON line.

  .venv-peers/sbx-rl/bin/python benchmarks/peers/sbx-rl/run.py sac '{"warmup": W, "steps": N}'

Run by `benchmarks.run` in the peer's own venv (sbx's learner is JAX; torch 2.13 CPU comes in
through stable-baselines3, which sbx builds on). The timed run and its matched settings are
`benchmarks/peers/sb3_sac.py`, shared with the stable-baselines3 runner.
"""

import json
import os
import sys

import jax
import sbx
from sbx import SAC

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import sb3_sac  # noqa: E402  (benchmarks/peers/, not an installed package)


def sac(warmup: int, steps: int) -> dict:
  return {**sb3_sac.timed_sac(SAC, warmup, steps), "jax": jax.__version__,
          "sbx": sbx.__version__}


if __name__ == "__main__":
  print(json.dumps({"sac": sac}[sys.argv[1]](**json.loads(sys.argv[2]))))
