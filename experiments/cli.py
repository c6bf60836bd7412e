"""Command-line plumbing shared by the experiment apps: readable one-line errors, exit code 2.

absl reports a bad flag with several lines and exit code 1; here every input error (bad flag,
config value, environment name, unwritable output directory) prints one line naming the problem
and what is accepted, and exits with code 2 before anything is compiled.
"""

import os
import sys

from absl import app, flags


def fail(message: str) -> None:
  """Prints `error: <message>` on stderr and exits with code 2."""
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def _parse(argv):
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(str(e).splitlines()[0])


def run(main) -> None:
  """`absl.app.run(main)` with one-line flag errors (exit code 2)."""
  app.run(main, flags_parser=_parse)


def config_or_fail(factory, **kwargs):
  """Builds a validated config; a `ValueError` from its checks becomes a one-line exit 2."""
  try:
    return factory(**kwargs)
  except ValueError as e:
    fail(str(e))


def writable_dir(path: str) -> str:
  """Creates `path` if needed and checks it can be written; else a one-line exit 2."""
  try:
    os.makedirs(path, exist_ok=True)
    probe = os.path.join(path, ".write_test")
    with open(probe, "w") as f:
      f.write("ok")
    os.remove(probe)
  except OSError as e:
    fail(f"--out {path!r} cannot be written ({e.strerror or e})")
  return path
