"""Faults a checkpointed `experiments.train` run survives (subprocesses, a tiny 60-step run that
checkpoints every 10 steps): SIGKILL after a checkpoint, between logging and saving and in the
middle of a save, then `--resume` until done, ends bit for bit where one uninterrupted run ends;
a save that fails (a full disk, simulated) stops the run with one
error line naming the intact previous checkpoint and leaves no damaged latest checkpoint, and
the resumed run again equals the uninterrupted one; a corrupt checkpoint is named as corrupt
and left untouched.

The faults are injected by FAULT, a wrapper that patches orbax, `softq.logging` or
`softq.checkpoint` in the child process before starting the app (`SOFTQ_FAULT=kind:step`), so
every kill lands at the same point on every machine.
"""

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from softq import checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FLAGS = ["--algo=sql", "--env=multigoal", "--seeds=2", "--steps=60", "--chunk=10",
         "--warmup=10", "--batch_size=4", "--critic_hidden=8,8", "--actor_hidden=8,8",
         "--kernel_particles=2", "--value_particles=2", "--eval_episodes=1",
         "--checkpoint_every=10"]
KILLED = -signal.SIGKILL

FAULT = """
import errno, os, signal, sys
kind, _, at = os.environ.get("SOFTQ_FAULT", "").partition(":")

def kill():
  os.kill(os.getpid(), signal.SIGKILL)

if kind in ("saving", "saved"):  # around orbax's commit (rename) of checkpoint `at`
  from orbax.checkpoint._src.path import atomicity
  finalize = atomicity.AtomicRenameTemporaryPath.finalize
  async def hooked(self, *args, **kwargs):
    mine = os.path.basename(str(self._final_path)) == at
    if mine and kind == "saving":  # data written, not committed
      kill()
    done = await finalize(self, *args, **kwargs)
    if mine and kind == "saved":
      kill()
    return done
  atomicity.AtomicRenameTemporaryPath.finalize = hooked
elif kind == "logged":  # metrics.csv has the rows of step `at`, its checkpoint is not saved
  from softq import logging as softq_logging
  on_chunk = softq_logging.RunLogger.on_chunk
  def hooked(self, step, *args):
    on_chunk(self, step, *args)
    if step == int(at):
      kill()
  softq_logging.RunLogger.on_chunk = hooked
elif kind == "enospc":  # the disk fills up after the arrays of checkpoint `at` are written
  from etils import epath
  write_text = epath.Path.write_text
  def hooked(self, *args, **kwargs):
    parts = str(self).split(os.sep)
    if f"{at}.orbax-checkpoint-tmp" in parts and parts[-1] == "_METADATA":
      raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
    return write_text(self, *args, **kwargs)
  epath.Path.write_text = hooked
elif kind:
  raise SystemExit(f"unknown SOFTQ_FAULT {kind!r}")
from softq import cli, launch
from experiments import train
sys.argv = ["train"] + sys.argv[1:]
cli.run(lambda argv: launch.main(train.APP))
"""


def _train(*args, fault=None):
  env = {**os.environ, "SOFTQ_FAULT": fault or ""}
  return subprocess.run([sys.executable, "-c", FAULT, *FLAGS, *args], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=600)


def _steps(out):
  """The complete checkpoints' steps (orbax's temporary directories are not complete)."""
  directory = os.path.join(out, "checkpoints")
  return sorted(int(n) for n in os.listdir(directory) if n.isdigit())


def _results(out):
  with open(os.path.join(out, "results.json")) as f:
    return json.load(f)


def _read(path):
  with open(path) as f:
    return f.read()


def _error_lines(stderr):
  """The lines of stderr that report an error (the progress bar and memory line are not)."""
  return [line for line in stderr.splitlines() if "error" in line.lower()]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
  """One uninterrupted run with the same flags: its parameter hashes and metrics.csv."""
  out = str(tmp_path_factory.mktemp("faults") / "uninterrupted")
  proc = _train(f"--out={out}")
  assert proc.returncode == 0, proc.stderr[-3000:]
  hashes = [r["params_sha256"] for r in _results(out)["runs"]]
  assert len(set(hashes)) == 2  # the seeds really differ
  return out, hashes, _read(os.path.join(out, "metrics.csv"))


def _assert_equals_reference(out, reference, resumed_from):
  _, hashes, metrics = reference
  results = _results(out)
  assert results["resumed_from_step"] == resumed_from
  assert [r["params_sha256"] for r in results["runs"]] == hashes
  assert _read(os.path.join(out, "metrics.csv")) == metrics


@pytest.mark.slow
def test_sigkill_at_several_points_then_resume_equals_an_uninterrupted_run(reference,
                                                                            tmp_path):
  """SIGKILL right after the first checkpoint, after the third checkpoint once step 40 is
  logged but not saved, and in the middle of saving step 50 (data written, not committed);
  each time `--resume` continues from the last complete checkpoint. If this fails, a kill
  loses or damages state a resume needs (a half-written checkpoint taken as the latest, stale
  metrics.csv rows kept, a carry restored differently): the resumed run no longer ends where
  the uninterrupted one does."""
  out = str(tmp_path / "run")
  killed = _train(f"--out={out}", fault="saved:10")
  assert killed.returncode == KILLED, killed.stderr[-3000:]
  assert _steps(out) == [10]

  killed = _train(f"--resume={out}", fault="logged:40")
  assert killed.returncode == KILLED, killed.stderr[-3000:]
  assert _steps(out) == [10, 20, 30]
  with open(os.path.join(out, "metrics.csv")) as f:
    assert f.read().splitlines()[-1].startswith("40,")  # logged before the kill

  killed = _train(f"--resume={out}", fault="saving:50")
  assert killed.returncode == KILLED, killed.stderr[-3000:]
  assert _steps(out) == [20, 30, 40]
  assert "50.orbax-checkpoint-tmp" in os.listdir(os.path.join(out, "checkpoints"))

  resumed = _train(f"--resume={out}")
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  _assert_equals_reference(out, reference, resumed_from=40)


@pytest.mark.slow
def test_a_full_disk_during_a_save_stops_with_one_line_and_resumes(reference, tmp_path):
  """The disk fills up while checkpoint 30 is written (OSError ENOSPC from orbax's write path,
  after the arrays are written). If this fails, a failed save ends in a traceback or a
  misleading message, exits with another code, leaves a partial checkpoint that a resume
  would take as the latest, or the resumed run differs from the uninterrupted one."""
  out = str(tmp_path / "run")
  failed = _train(f"--out={out}", fault="enospc:30")
  directory = os.path.abspath(os.path.join(out, "checkpoints"))
  assert failed.returncode == 2, failed.stderr[-3000:]
  assert "Traceback" not in failed.stderr
  assert _error_lines(failed.stderr) == [
      f"error: could not save the checkpoint at step 30 in {directory} (No space left on "
      f"device); the checkpoint at step 20 is intact: free space and --resume {out}"]
  assert failed.stderr.strip().splitlines()[-1].startswith("error: could not save")
  assert _steps(out) == [10, 20]
  assert not [n for n in os.listdir(directory) if n.startswith("30")]  # partial save removed
  assert checkpoint.latest(directory, checkpoint.saved_description(directory, 20)) == 20

  resumed = _train(f"--resume={out}")
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  _assert_equals_reference(out, reference, resumed_from=20)


def test_a_corrupt_checkpoint_is_named_and_left_untouched(reference, tmp_path, tree_digest):
  """The array files of a finished run's latest checkpoint are truncated; `--resume` to a
  larger budget must say `error: corrupt:` in one line (exit 2) and change nothing in the
  checkpoints. If this fails, damaged arrays are restored silently, crash with a traceback,
  or the launcher rewrites the checkpoints it could not read."""
  out = str(tmp_path / "run")
  shutil.copytree(reference[0], out)
  for base, _, files in os.walk(os.path.join(out, "checkpoints", "60", "carry")):
    for name in files:
      if not name.endswith(".txt"):
        path = os.path.join(base, name)
        with open(path, "r+b") as f:
          f.truncate(max(os.path.getsize(path) // 3, 1))
  before = tree_digest(os.path.join(out, "checkpoints"))
  failed = _train(f"--resume={out}", "--steps=70")
  assert failed.returncode == 2, failed.stderr[-3000:]
  assert "Traceback" not in failed.stderr
  errors = _error_lines(failed.stderr)
  assert len(errors) == 1 and errors[0].startswith("error: corrupt:"), failed.stderr[-3000:]
  assert "/checkpoints/60" in errors[0]
  assert tree_digest(os.path.join(out, "checkpoints")) == before
