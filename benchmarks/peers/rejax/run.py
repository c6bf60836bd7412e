"""rejax's SAC on gymnax `Pendulum-v1`, seeds vmapped; prints one JSON line.

  .venv-peers/rejax/bin/python benchmarks/peers/rejax/run.py sac \\
      '{"warmup": W, "steps": N, "seeds": S}'

Run by `benchmarks.run` in the peer's own venv. Settings matched to the other libraries: 1
environment per seed, 256x256 nets, batch 256, 1 gradient step per env step (`num_epochs = 1`),
Adam 3e-4, discount 0.99, Polyak 0.995 (τ 0.005), learned α, `W` buffer-filling steps (rejax
fills with its policy's actions, not uniform ones). Built from rejax's public pieces:
`SAC.create`, `init_state` and `train_iteration` (the body of its own `train`), run under
`fori_loop` and `vmap` over seeds exactly as `train` does, minus its periodic evaluations, so
compilation and the buffer-filling phase are timed apart from the `N` training steps.
"""

import json
import sys
import time

import jax
from rejax import SAC


def sac(warmup: int, steps: int, seeds: int = 1) -> dict:
  algo = SAC.create(env="Pendulum-v1", num_envs=1, learning_rate=3e-4, gamma=0.99,
                    polyak=0.995, hidden_layer_sizes=(256, 256), batch_size=256,
                    fill_buffer=warmup, buffer_size=warmup + steps,
                    total_timesteps=warmup + steps, skip_initial_evaluation=True)

  def iterations(count):
    return jax.jit(jax.vmap(
        lambda ts: jax.lax.fori_loop(0, count, lambda _, t: algo.train_iteration(t), ts)))

  ts = jax.vmap(algo.init_state)(jax.random.split(jax.random.key(0), seeds))
  fill = iterations(warmup + 1).lower(ts).compile()  # the first update happens at step W + 1
  start = time.perf_counter()
  train = iterations(steps).lower(ts).compile()
  compile_s = time.perf_counter() - start
  ts = jax.block_until_ready(fill(ts))
  start = time.perf_counter()
  ts = jax.block_until_ready(train(ts))
  train_s = time.perf_counter() - start
  return {"seeds": seeds, "env_steps_per_s": round(seeds * steps / train_s, 1),
          "env_steps_per_s_per_seed": round(steps / train_s, 1),
          "grad_steps_per_s": round(seeds * steps / train_s, 1), "timed_env_steps": steps,
          "compile_s": round(compile_s, 2), "jax": jax.__version__}


if __name__ == "__main__":
  print(json.dumps({"sac": sac}[sys.argv[1]](**json.loads(sys.argv[2]))))
