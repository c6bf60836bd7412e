"""The timed SAC run shared by the stable-baselines3 and sbx runners (same API, own venvs).

Settings matched to the other libraries: gymnasium `Pendulum-v1`, 1 environment, 256x256 nets,
batch 256, 1 gradient step per env step, Adam 3e-4, discount 0.99, τ 0.005, learned α, `W`
uniform-random warm-up steps. A callback stamps the clock after the first `SKIP` training steps
(excluded: first calls — sbx's JIT compilation, torch's allocations) and at the end; env-steps/s
is taken between the two stamps.
"""

import time

import gymnasium as gym
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


def timed_sac(sac_class, warmup: int, steps: int) -> dict:
  """Trains `sac_class` (stable-baselines3's or sbx's `SAC`) for `warmup + steps` env steps."""
  model = sac_class("MlpPolicy", gym.make("Pendulum-v1"), learning_rate=3e-4,
                    buffer_size=warmup + steps, learning_starts=warmup, batch_size=256,
                    tau=0.005, gamma=0.99, train_freq=1, gradient_steps=1, ent_coef="auto",
                    policy_kwargs={"net_arch": [256, 256]}, seed=0, device="cpu")
  first, last = warmup + SKIP, warmup + steps
  clock = Clock([warmup, first, last])
  model.learn(total_timesteps=last, callback=clock)
  rate = (last - first) / (clock.stamps[last] - clock.stamps[first])
  return {"env_steps_per_s": round(rate, 1), "grad_steps_per_s": round(rate, 1),
          "timed_env_steps": last - first,
          "first_updates_s": round(clock.stamps[first] - clock.stamps[warmup], 2)}
