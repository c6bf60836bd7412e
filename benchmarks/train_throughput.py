"""Env-steps/s of full training runs (`softq.train` chunks) on Brax, seeds vmapped.

  python -m benchmarks.train_throughput [--algo sac] [--env halfcheetah]
      [--backends spring,mjx] [--seeds 1,2,4,8] [--chunk 200] [--repeats 3]

One gradient step per environment step, 256x256 networks, batch 256 (the agent's defaults for
SAC). For every backend and seed count prints, in one JSON object: the compile time of the
training chunk (AOT `lower().compile()`), steady-state env-steps/s aggregated over seeds and per
seed (median of `--repeats` timed chunks after a warm-up chunk and one untimed chunk with
updates, `block_until_ready`), and the fractions of a chunk's time that physics alone and
updates alone take: a compiled scan of the same number of vmapped environment steps with random
actions (resets included), and a compiled scan of the same number of vmapped agent updates on
minibatches of the run's replay buffer (`benchmarks.timing.update_scan`), timed the same way.
The remainder is acting, replay writes and loop overhead. The load average is recorded before
and after.
"""

import json
import os
import sys
import time

from absl import flags

from softq import cli

flags.DEFINE_string("algo", "sac", "Agent (softq.agents.CONTINUOUS).")
flags.DEFINE_string("env", "halfcheetah", "Environment (softq.envs.NAMES).")
flags.DEFINE_string("backends", "spring,mjx", "Comma-separated physics backends.")
flags.DEFINE_string("seeds", "1,2,4,8", "Comma-separated seed counts.")
flags.DEFINE_integer("chunk", 200, "Environment steps per timed chunk (per seed).")
flags.DEFINE_integer("repeats", 3, "Timed chunks (median reported).")
FLAGS = flags.FLAGS


def measure(agent, env, num_seeds: int) -> dict:
  """Compile time, env-steps/s (aggregate, per seed), physics and update fractions."""
  import jax

  from benchmarks import timing
  from softq import train
  from softq.envs.wrappers import step_and_reset

  config = agent.Config(exploration="none")
  loop = train.LoopConfig(total_steps=FLAGS.chunk * (FLAGS.repeats + 2), chunk_steps=FLAGS.chunk,
                          warmup_steps=FLAGS.chunk, replay_capacity=10_000, eval_episodes=1,
                          warmup_actions="uniform")
  program = train.build(agent, config, env, loop)
  carry = program.init(jax.random.split(jax.random.key(0), num_seeds))
  start = time.perf_counter()
  chunk = program.chunk.lower(carry).compile()
  compile_s = time.perf_counter() - start
  carry, _ = chunk(carry)  # the warm-up chunk: from here on every step updates
  train_s, _ = timing.median_seconds(lambda c: chunk(c)[0], carry, FLAGS.repeats,
                                    chain=True)

  def physics(states_key):
    def body(c, _):
      states, key = c
      key, k_act, k_reset = jax.random.split(key, 3)
      actions = jax.random.uniform(k_act, (num_seeds, env.action_size), minval=-1, maxval=1)
      states, _ = jax.vmap(step_and_reset, in_axes=(None, 0, 0, 0))(
          env, states, actions, jax.random.split(k_reset, num_seeds))
      return (states, key), None
    return jax.lax.scan(body, states_key, None, length=FLAGS.chunk)[0]

  states = (jax.vmap(env.reset)(jax.random.split(jax.random.key(1), num_seeds)),
            jax.random.key(2))
  physics_s, _ = timing.median_seconds(jax.jit(physics).lower(states).compile(), states,
                                      FLAGS.repeats, chain=True)

  agent_states, buffers, key = carry.seeds.agent, carry.seeds.buffer, jax.random.key(3)
  run_updates = jax.jit(timing.update_scan(agent, config, FLAGS.chunk))
  update_fn = run_updates.lower(agent_states, buffers, key).compile()
  update_s, _ = timing.median_seconds(lambda s: update_fn(s, buffers, key), agent_states,
                                     FLAGS.repeats, chain=True)
  return {"seeds": num_seeds, "compile_s": round(compile_s, 2),
          "env_steps_per_s": round(FLAGS.chunk * num_seeds / train_s, 1),
          "env_steps_per_s_per_seed": round(FLAGS.chunk / train_s, 1),
          "physics_fraction": round(physics_s / train_s, 3),
          "update_fraction": round(update_s / train_s, 3),
          "chunk_s": round(train_s, 3), "physics_s": round(physics_s, 3),
          "update_s": round(update_s, 3)}


def main(argv):
  del argv
  try:
    seeds = [int(s) for s in FLAGS.seeds.split(",")]
  except ValueError:
    cli.fail(f"--seeds must be comma-separated positive integers, got {FLAGS.seeds!r}")
  if min(seeds) < 1 or FLAGS.chunk < 1 or FLAGS.repeats < 1:
    cli.fail("--seeds, --chunk and --repeats must be >= 1")

  import jax

  from softq import agents, envs
  if FLAGS.algo not in agents.CONTINUOUS:
    cli.fail(f"--algo {FLAGS.algo!r}; accepted: {', '.join(agents.CONTINUOUS)}")
  environments = {}
  for backend in FLAGS.backends.split(","):
    try:
      environments[backend] = envs.make(FLAGS.env, backend=backend)
    except ValueError as e:
      cli.fail(str(e))
  results = {"algo": FLAGS.algo, "env": FLAGS.env, "chunk": FLAGS.chunk,
             "repeats": FLAGS.repeats, "device": str(jax.devices()[0]),
             "cpu_count": os.cpu_count(), "load_before": os.getloadavg(), "runs": []}
  for backend, env in environments.items():
    for n in seeds:
      results["runs"].append({"backend": backend, **measure(agents.AGENTS[FLAGS.algo], env, n)})
      print(json.dumps(results["runs"][-1]), file=sys.stderr)
  results["load_after"] = os.getloadavg()
  print(json.dumps(results))


if __name__ == "__main__":
  cli.run(main)
