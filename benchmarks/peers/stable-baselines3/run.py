"""stable-baselines3's SAC (PyTorch) on gymnasium `Pendulum-v1`; prints one JSON line.

  .venv-peers/stable-baselines3/bin/python benchmarks/peers/stable-baselines3/run.py sac \\
      '{"warmup": W, "steps": N}'

Run by `benchmarks.run` in the peer's own venv (torch 2.13 CPU). The timed run and its matched
settings are `benchmarks/peers/sb3_sac.py`, shared with the sbx runner.
"""

import json
import os
import sys

import stable_baselines3
from stable_baselines3 import SAC
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import sb3_sac  # noqa: E402  (benchmarks/peers/, not an installed package)


def sac(warmup: int, steps: int) -> dict:
  return {**sb3_sac.timed_sac(SAC, warmup, steps), "torch": torch.__version__,
          "torch_threads": torch.get_num_threads(),
          "stable_baselines3": stable_baselines3.__version__}


if __name__ == "__main__":
  print(json.dumps({"sac": sac}[sys.argv[1]](**json.loads(sys.argv[2]))))
