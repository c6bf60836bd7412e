"""stable-baselines3's SAC (PyTorch) on gymnasium `Pendulum-v1`; prints one JSON line.

  .venv-peers/stable-baselines3/bin/python benchmarks/peers/stable-baselines3/run.py sac \\
      '{"warmup": W, "steps": N}'

Run by `benchmarks.run` in the peer's own venv (torch 2.13 CPU). Settings matched to the other
libraries: 1 environment, 256x256 nets, batch 256, 1 gradient step per env step, Adam 3e-4,
discount 0.99, τ 0.005, learned α, `W` uniform-random warm-up steps. A callback stamps the
clock after the first `SKIP` training steps (excluded: first calls, allocations) and at the end;
env-steps/s is taken between the two stamps.
"""

import json
import sys
import time

import gymnasium as gym
import stable_baselines3
import torch
from stable_baselines3 import SAC
from stable_baselines3.common.callbacks import BaseCallback

SKIP = 100


class Clock(BaseCallback):
  """Wall-clock stamps at given environment-step counts."""

  def __init__(self, marks):
    super().__init__()
    self.marks, self.stamps = set(marks), {}

  def _on_step(self) -> bool:
    if self.num_timesteps in self.marks:
      self.stamps[self.num_timesteps] = time.perf_counter()
    return True


def sac(warmup: int, steps: int) -> dict:
  model = SAC("MlpPolicy", gym.make("Pendulum-v1"), learning_rate=3e-4,
              buffer_size=warmup + steps, learning_starts=warmup, batch_size=256, tau=0.005,
              gamma=0.99, train_freq=1, gradient_steps=1, ent_coef="auto",
              policy_kwargs={"net_arch": [256, 256]}, seed=0, device="cpu")
  first, last = warmup + SKIP, warmup + steps
  clock = Clock([warmup, first, last])
  model.learn(total_timesteps=last, callback=clock)
  rate = (last - first) / (clock.stamps[last] - clock.stamps[first])
  return {"env_steps_per_s": round(rate, 1), "grad_steps_per_s": round(rate, 1),
          "timed_env_steps": last - first,
          "first_updates_s": round(clock.stamps[first] - clock.stamps[warmup], 2),
          "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
          "stable_baselines3": stable_baselines3.__version__}


if __name__ == "__main__":
  print(json.dumps({"sac": sac}[sys.argv[1]](**json.loads(sys.argv[2]))))
