"""Runs many short app commands, each in a process forked from one that has already imported the
third-party libraries (JAX, Brax, flax, optax, chex), so a command that fails at its input costs
a fraction of a fresh interpreter's start. Nothing from softq or experiments is imported before
the fork: each command imports its app, defines its flags and parses its arguments afresh.

  python tests/apps/forked_runs.py CASES.json RESULTS.json

CASES.json: `[[name, module, [arg, ...], stderr_path], ...]`; RESULTS.json gets
`{name: exit_code}`. Each command runs as `python -m module args` would, in the current
directory, with stdout discarded and stderr written to `stderr_path`; four run at a time and a
command still running after 300 s is killed (exit code -9).
"""

import contextlib
import io
import json
import os
import runpy
import signal
import sys
import time

PARALLEL, TIMEOUT_S = 4, 300


def _preload() -> None:
  import chex  # noqa: F401
  import flax  # noqa: F401
  import jax  # noqa: F401
  import numpy  # noqa: F401
  import optax  # noqa: F401
  with contextlib.redirect_stdout(io.StringIO()):  # brax prints "Failed to import warp"
    import brax  # noqa: F401


def _child(module: str, args: list, stderr_path: str) -> None:
  """Becomes `python -m module args` with stderr in `stderr_path`; never returns."""
  code = 1
  try:
    with open(stderr_path, "w") as err, open(os.devnull, "w") as null:
      os.dup2(err.fileno(), 2)
      os.dup2(null.fileno(), 1)
    sys.argv = [module] + args
    sys.path.insert(0, os.getcwd())
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    code = 0
  except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
  except BaseException:  # an uncaught error: a traceback on stderr, exit 1, as Python does
    import traceback
    traceback.print_exc()
  finally:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run(cases: list) -> dict:
  """`{name: exit_code}` of every `(name, module, args, stderr_path)` in `cases`."""
  _preload()
  codes, running, pending = {}, {}, list(cases)
  while pending or running:
    while pending and len(running) < PARALLEL:
      name, module, args, stderr_path = pending.pop(0)
      pid = os.fork()
      if pid == 0:
        _child(module, args, stderr_path)
      running[pid] = (name, time.monotonic())
    pid, status = os.waitpid(-1, os.WNOHANG)
    if pid:
      codes[running.pop(pid)[0]] = os.waitstatus_to_exitcode(status)
      continue
    for pid, (name, began) in list(running.items()):
      if time.monotonic() - began > TIMEOUT_S:
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.02)
  return codes


if __name__ == "__main__":
  with open(sys.argv[1]) as f:
    todo = json.load(f)
  result = run(todo)
  with open(sys.argv[2], "w") as f:
    json.dump(result, f)
