"""Checkpoint/resume (orbax): bit-identical resume, SIGKILL during a save (the resumed launcher
continues metrics.csv), corrupt/missing/mismatched checkpoints rejected without touching them,
and α sweeps equal to separate runs.

The in-process runs use exactly the configuration `experiments.train` builds from TINY_FLAGS,
so the launcher's hashes (in subprocesses) are compared against them.
"""

import dataclasses
import functools
import json
import os
import shutil
import signal
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from softq import agents, checkpoint, envs, train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SQL = agents.AGENTS["sql"]
STEPS, CHUNK = 40, 10
TINY_FLAGS = ["--algo=sql", "--env=multigoal", "--seeds=2", f"--steps={STEPS}",
              f"--chunk={CHUNK}", "--warmup=10", "--batch_size=4", "--critic_hidden=8,8",
              "--actor_hidden=8,8", "--replay=64",
              "--eval_episodes=1", "--sweep=alpha=0.1,0.5"]
CONFIG = SQL.Config(critic_hidden=(8, 8), actor_hidden=(8, 8), batch_size=4)
LOOP = train.LoopConfig(total_steps=STEPS, chunk_steps=CHUNK, warmup_steps=10,
                        replay_capacity=64, eval_episodes=1, warmup_actions="uniform")
ENV = envs.make("multigoal")
KEYS = jax.random.split(jax.random.key(0), 2)
EVAL_KEY = jax.random.key(1)
SWEEP = {"alpha": [0.1, 0.5]}
DESCRIPTION = {"algo": "sql", "note": "test"}


@pytest.fixture(scope="module")
def program():
  return train.build(SQL, CONFIG, ENV, LOOP)


@pytest.fixture(scope="module")
def saved_run(program, tmp_path_factory):
  """An uninterrupted 4-run sweep that saved checkpoints at steps 20 and 40."""
  directory = str(tmp_path_factory.mktemp("run") / "checkpoints")
  saver = checkpoint.Checkpointer(directory, 20, DESCRIPTION)
  result = train.train(SQL, CONFIG, ENV, KEYS, LOOP, sweep=SWEEP, eval_key=EVAL_KEY,
                       checkpointer=saver, program=program)
  saver.close()
  return directory, checkpoint.params_sha256(result.carry.seeds.agent.params), result


def test_resume_is_bit_identical(program, saved_run):
  directory, hashes, _ = saved_run
  assert sorted(os.listdir(directory)) == ["20", "40"]
  step = checkpoint.latest(directory, DESCRIPTION)
  assert step == 40
  resumed = train.train(SQL, CONFIG, ENV, KEYS, LOOP, sweep=SWEEP, eval_key=EVAL_KEY,
                        restore=functools.partial(checkpoint.restore, directory, 20),
                        program=program)
  assert checkpoint.params_sha256(resumed.carry.seeds.agent.params) == hashes
  assert len(set(hashes)) == 4  # seeds and α values really differ


def test_sweep_over_alpha_equals_separate_runs(program, saved_run):
  """The swept α replaces the config's α exactly: each sweep member equals a run whose config
  has that α. Compared at the same vmap width (4 runs): XLA:CPU may round a run's float32
  updates differently when it is batched with a different number of runs."""
  _, hashes, swept = saved_run
  np.testing.assert_array_equal(swept.carry.seeds.agent.alpha, np.float32([0.1, 0.1, 0.5, 0.5]))
  assert [r["alpha"] for r in swept.runs] == [0.1, 0.1, 0.5, 0.5]
  four_keys = jax.numpy.concatenate([KEYS, KEYS])
  low = train.train(SQL, CONFIG, ENV, four_keys, LOOP, eval_key=EVAL_KEY, program=program)
  high_config = dataclasses.replace(CONFIG, alpha=0.5)
  high = train.train(SQL, high_config, ENV, four_keys, LOOP, eval_key=EVAL_KEY)
  assert CONFIG.alpha == 0.1
  assert checkpoint.params_sha256(low.carry.seeds.agent.params)[:2] == hashes[:2]
  assert checkpoint.params_sha256(high.carry.seeds.agent.params)[:2] == hashes[2:]


def test_missing_and_mismatched_checkpoints_are_rejected(saved_run, tmp_path, tree_digest):
  directory, _, result = saved_run
  with pytest.raises(checkpoint.CheckpointError, match="no checkpoint directory"):
    checkpoint.latest(str(tmp_path / "nothing"), DESCRIPTION)
  os.makedirs(tmp_path / "empty")
  with pytest.raises(checkpoint.CheckpointError, match="no complete checkpoint"):
    checkpoint.latest(str(tmp_path / "empty"), DESCRIPTION)
  before = tree_digest(directory)
  with pytest.raises(checkpoint.CheckpointError, match="algo is 'sql' there, 'ddpg' here"):
    checkpoint.latest(directory, {**DESCRIPTION, "algo": "ddpg"})
  like = jax.eval_shape(train.build(SQL, CONFIG, ENV, LOOP).init, jax.random.split(KEYS[0], 3))
  with pytest.raises(checkpoint.CheckpointError, match="cannot be restored|has an array"):
    checkpoint.restore(directory, 40, like)
  assert tree_digest(directory) == before


def test_fields_newer_than_a_checkpoint_match_only_at_their_defaults(saved_run):
  """A field the saved description lacks (added by a later version) matches its default only."""
  directory, _, _ = saved_run
  newer = {**DESCRIPTION, "config": {"noise_set": 0}}
  with pytest.raises(checkpoint.CheckpointError, match="config is None there"):
    checkpoint.latest(directory, newer)
  defaults = {"config": {"noise_set": 0}}
  assert checkpoint.latest(directory, newer, defaults=defaults) == 40
  with pytest.raises(checkpoint.CheckpointError, match="config.noise_set is 0 there, 4 here"):
    checkpoint.latest(directory, {**DESCRIPTION, "config": {"noise_set": 4}}, defaults=defaults)


def test_corrupt_checkpoint_is_rejected_untouched(saved_run, tmp_path, tree_digest):
  directory, _, result = saved_run
  copy = str(tmp_path / "checkpoints")
  shutil.copytree(directory, copy)
  for base, _, files in os.walk(os.path.join(copy, "40", "carry")):
    for name in files:
      if not name.endswith(".txt"):
        with open(os.path.join(base, name), "r+b") as f:
          f.truncate(max(os.path.getsize(os.path.join(base, name)) // 3, 1))
  before = tree_digest(copy)
  like = jax.eval_shape(lambda c: c, result.carry)
  with pytest.raises(checkpoint.CheckpointError, match=f"corrupt: {copy}/40 cannot be restored"):
    checkpoint.restore(copy, 40, like)
  assert tree_digest(copy) == before
  with open(os.path.join(copy, "40", "description", "metadata"), "w") as f:
    f.write("{not json")
  with pytest.raises(checkpoint.CheckpointError, match="corrupt: .*40/description/metadata"):
    checkpoint.latest(copy, DESCRIPTION)


KILL_AT_SAVE = """
import os, signal, sys
from orbax.checkpoint._src.path import atomicity
finalize = atomicity.AtomicRenameTemporaryPath.finalize
async def killing_finalize(self, *args, **kwargs):
  if os.path.basename(str(self._final_path)) == "30":  # mid-save: data written, not committed
    os.kill(os.getpid(), signal.SIGKILL)
  return await finalize(self, *args, **kwargs)
atomicity.AtomicRenameTemporaryPath.finalize = killing_finalize
from softq import cli, launch
from experiments import train
sys.argv = ["train"] + sys.argv[1:]
cli.run(lambda argv: launch.main(train.APP))
"""


@pytest.mark.slow
def test_sigkill_during_save_resumes_from_previous_checkpoint(saved_run, tmp_path):
  _, hashes, _ = saved_run
  out = str(tmp_path / "run")
  killed = subprocess.run([sys.executable, "-c", KILL_AT_SAVE, *TINY_FLAGS, f"--out={out}",
                           "--checkpoint_every=10"], cwd=ROOT, capture_output=True, text=True)
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
  names = os.listdir(os.path.join(out, "checkpoints"))
  assert {"10", "20"} <= set(names) and "30" not in names
  assert any("tmp" in n for n in names)  # the interrupted save's leftovers
  resumed = subprocess.run([sys.executable, "-m", "experiments.train", *TINY_FLAGS,
                            f"--resume={out}", "--checkpoint_every=10"], cwd=ROOT,
                           capture_output=True, text=True)
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  with open(os.path.join(out, "results.json")) as f:
    results = json.load(f)
  assert results["resumed_from_step"] == 20
  assert [r["params_sha256"] for r in results["runs"]] == hashes
  assert [r["alpha"] for r in results["runs"]] == [0.1, 0.1, 0.5, 0.5]
  with open(os.path.join(out, "metrics.csv")) as f:  # rows up to 20 kept, 30 written again
    steps = [int(line.split(",")[0]) for line in f.read().splitlines()[1:]]
  assert steps == [step for step in range(CHUNK, STEPS + 1, CHUNK) for _ in range(4)]
  mismatched = subprocess.run([sys.executable, "-m", "experiments.train", *TINY_FLAGS,
                               "--critic_hidden=16,16", f"--resume={out}", "--steps=60"],
                              cwd=ROOT, capture_output=True, text=True)
  assert mismatched.returncode == 2
  assert mismatched.stderr.strip().splitlines() == [mismatched.stderr.strip()]  # one line
  assert mismatched.stderr.startswith("error: checkpoint")
  assert "config.critic_hidden is [8, 8] there, [16, 16] here" in mismatched.stderr


def test_arrays_without_elements_survive_save_and_restore(tmp_path):
  """Orbax refuses zero-size arrays (MJX keeps an empty `act` in its state); they are stored as
  stand-ins and come back with their own shape and dtype, the other leaves exactly."""
  carry = {"act": jnp.zeros((2, 0), jnp.float32), "empty": jnp.zeros((0, 3), jnp.int32),
           "q": jnp.arange(6.0).reshape(2, 3), "key": jax.random.split(jax.random.key(3), 2)}
  saver = checkpoint.Checkpointer(str(tmp_path / "checkpoints"), 10, DESCRIPTION)
  assert saver.save(10, carry, final=True)
  saver.close()
  like = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), carry)
  restored = checkpoint.restore(str(tmp_path / "checkpoints"), 10, like)
  assert restored["act"].shape == (2, 0) and restored["act"].dtype == jnp.float32
  assert restored["empty"].shape == (0, 3) and restored["empty"].dtype == jnp.int32
  np.testing.assert_array_equal(restored["q"], carry["q"])
  np.testing.assert_array_equal(jax.random.key_data(restored["key"]),
                                jax.random.key_data(carry["key"]))
