"""Env-steps/s of full training runs (`softq.train` chunks) on Brax, seeds vmapped.

  python -m benchmarks.train_throughput [--algo sac] [--env halfcheetah]
      [--backends spring,mjx] [--seeds 1,2,4,8] [--chunk 200] [--repeats 3] [--num_envs 1]
      [--nophases]

One gradient step per loop iteration, which steps `--num_envs` environments per seed (one step per
transition with the default 1), 256x256 networks, batch 256 (the agent's defaults for SAC). For
every backend and seed count prints, in one JSON object: the compile time of the training chunk
(AOT `lower().compile()`), steady-state env-steps/s aggregated over seeds and per seed (median of
`--repeats` timed chunks after a warm-up chunk and one untimed chunk with updates,
`block_until_ready`), and the fractions of a chunk's time that physics alone and updates alone
take: a compiled scan of the same number of vmapped environment steps with random actions (resets
included), and a compiled scan of the same number of vmapped agent updates on minibatches of the
run's replay buffer (`benchmarks.timing.update_scan`), timed the same way. The remainder is acting,
replay writes and loop overhead (`--nophases` skips the two splits). The load average is recorded
before and after.
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
flags.DEFINE_integer("chunk", 200, "Loop iterations per timed chunk (per seed).")
flags.DEFINE_integer("repeats", 3, "Timed chunks (median reported).")
flags.DEFINE_integer("num_envs", 1, "Parallel environments per seed.")
flags.DEFINE_bool("phases", True, "Also time physics alone and updates alone.")
FLAGS = flags.FLAGS


def measure(agent, env, num_seeds: int, chunk: int, repeats: int, num_envs: int = 1,
            phases: bool = True) -> dict:
  """Compile time and env-steps/s (aggregate, per seed) of training chunks of `chunk` loop
  iterations (`chunk * num_envs` transitions and `chunk` updates per seed); with `phases`, also
  the physics and update fractions."""
  import jax

  from benchmarks import timing
  from softq import train
  from softq.envs.wrappers import step_and_reset

  config = agent.Config(exploration="none")
  transitions = chunk * num_envs
  loop = train.LoopConfig(total_steps=transitions * (repeats + 2), chunk_steps=transitions,
                          warmup_steps=transitions, replay_capacity=max(10_000, 4 * transitions),
                          eval_episodes=1, warmup_actions="uniform", num_envs=num_envs)
  program = train.build(agent, config, env, loop)
  carry = program.init(jax.random.split(jax.random.key(0), num_seeds))
  start = time.perf_counter()
  run = program.chunk.lower(carry).compile()
  compile_s = time.perf_counter() - start
  carry, _ = run(carry)  # the warm-up chunk: from here on every step updates
  train_s, _ = timing.median_seconds(lambda c: run(c)[0], carry, repeats, chain=True)
  rate = {"seeds": num_seeds, "num_envs": num_envs, "compile_s": round(compile_s, 2),
          "env_steps_per_s": round(transitions * num_seeds / train_s, 1),
          "env_steps_per_s_per_seed": round(transitions / train_s, 1),
          "chunk_s": round(train_s, 3)}
  if not phases:
    return rate

  def physics(states_key):
    def body(c, _):
      states, key = c
      key, k_act, k_reset = jax.random.split(key, 3)
      actions = jax.random.uniform(k_act, (num_seeds, env.action_size), minval=-1, maxval=1)
      states, _ = jax.vmap(step_and_reset, in_axes=(None, 0, 0, 0))(
          env, states, actions, jax.random.split(k_reset, num_seeds))
      return (states, key), None
    return jax.lax.scan(body, states_key, None, length=chunk)[0]

  states = (jax.vmap(env.reset)(jax.random.split(jax.random.key(1), num_seeds)),
            jax.random.key(2))
  physics_s, _ = timing.median_seconds(jax.jit(physics).lower(states).compile(), states,
                                      repeats, chain=True)

  agent_states, buffers, key = carry.seeds.agent, carry.seeds.buffer, jax.random.key(3)
  run_updates = jax.jit(timing.update_scan(agent, config, chunk))
  update_fn = run_updates.lower(agent_states, buffers, key).compile()
  update_s, _ = timing.median_seconds(lambda s: update_fn(s, buffers, key), agent_states,
                                     repeats, chain=True)
  return {**rate, "physics_fraction": round(physics_s / train_s, 3),
          "update_fraction": round(update_s / train_s, 3), "physics_s": round(physics_s, 3),
          "update_s": round(update_s, 3)}


def main(argv):
  del argv
  try:
    seeds = [int(s) for s in FLAGS.seeds.split(",")]
  except ValueError:
    cli.fail(f"--seeds must be comma-separated positive integers, got {FLAGS.seeds!r}")
  if min(seeds) < 1 or min(FLAGS.chunk, FLAGS.repeats, FLAGS.num_envs) < 1:
    cli.fail("--seeds, --chunk, --repeats and --num_envs must be >= 1")

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
      row = measure(agents.AGENTS[FLAGS.algo], env, n, FLAGS.chunk, FLAGS.repeats,
                    FLAGS.num_envs, FLAGS.phases)
      results["runs"].append({"backend": backend, **row})
      print(json.dumps(results["runs"][-1]), file=sys.stderr)
  results["load_after"] = os.getloadavg()
  print(json.dumps(results))


if __name__ == "__main__":
  cli.run(main)
