"""Brax's own SAC (`brax.training.agents.sac.train`) on softq's pure-JAX Pendulum; one JSON line.

  .venv-peers/brax/bin/python benchmarks/peers/brax/run.py sac '{"warmup": W, "steps": N}'

Run by `benchmarks.run` in the peer's own venv (brax 0.14.2 with jax 0.9.2: brax's SAC calls
`jax.device_put_replicated`, removed in jax 0.10). The environment is softq's
`softq/envs/pendulum.py`, loaded by file path (softq itself is not installed here), wrapped by
Brax's own training wrappers. Settings matched to the other libraries: 1 environment, 256x256
nets, batch 256, 1 gradient step per env step, Adam 3e-4, discount 0.99, τ 0.005, learned α
(Brax always learns it), `W` prefill steps. Brax times each training epoch itself
(`training/sps`); with `num_evals = 3` there are two epochs of `N` steps: the first includes
compilation, the second is steady state.
"""

import importlib.util
import json
import os
import sys
import time

import jax
from brax.training.agents.sac import train as sac_train


def _pendulum():
  path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "softq", "envs", "pendulum.py")
  spec = importlib.util.spec_from_file_location("softq_pendulum", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def sac(warmup: int, steps: int) -> dict:
  pendulum = _pendulum()
  epochs = []
  start = time.perf_counter()
  sac_train.train(
      environment=pendulum.Pendulum(), num_timesteps=warmup + 2 * steps,
      episode_length=pendulum.HORIZON, num_envs=1, num_eval_envs=1, learning_rate=3e-4,
      discounting=0.99, batch_size=256, num_evals=3, min_replay_size=warmup,
      max_replay_size=warmup + 2 * steps, grad_updates_per_step=1, tau=0.005,
      progress_fn=lambda step, m: epochs.append(m) if "training/sps" in m else None)
  total_s = time.perf_counter() - start
  first, second = epochs[0]["training/sps"], epochs[1]["training/sps"]
  return {"env_steps_per_s": round(second, 1), "grad_steps_per_s": round(second, 1),
          "timed_env_steps": steps, "first_epoch_env_steps_per_s": round(first, 1),
          "compile_s": round(steps / first - steps / second, 2), "total_s": round(total_s, 1),
          "jax": jax.__version__}


if __name__ == "__main__":
  print(json.dumps({"sac": sac}[sys.argv[1]](**json.loads(sys.argv[2]))))
