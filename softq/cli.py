"""Command-line plumbing for every app and benchmark: quiet, one-line errors, flags from Configs.

- `run(main)` is `absl.app.run` with one readable line and exit code 2 for a bad flag or a stray
  positional argument, `--help` on stdout with exit code 0 (listing the environment and road
  network names), third-party chatter silenced (brax's "Failed to import warp" lines, JAX's
  backend INFO line, orbax's INFO logs), and JAX's persistent compilation cache on
  (`--compilation_cache`).
- `fail(message)` prints `error: message` on stderr and exits with code 2.
- `define_config_flags` / `config_from_flags` derive command-line flags from the fields of
  `Config` dataclasses, so validation lives once, in each Config's `__post_init__`.
"""

import contextlib
import dataclasses
import io
import logging
import math
import os
import sys
import types
import typing

from absl import app, flags

FLAGS = flags.FLAGS
HELP = ("--help", "-h", "--helpfull", "-?", "--helpshort")
CACHE = os.environ.get("SOFTQ_COMPILATION_CACHE",
                       os.path.join(os.path.expanduser("~"), ".cache", "softq", "jax"))
flags.DEFINE_string("compilation_cache", CACHE, "Directory of JAX's persistent compilation "
                    "cache (safe to delete; '' turns it off). A second identical command "
                    "compiles nothing. Default: $SOFTQ_COMPILATION_CACHE or ~/.cache/softq/jax.")


def fail(message: str) -> typing.NoReturn:
  """Prints `error: <message>` on stderr and exits with code 2."""
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def quiet() -> None:
  """Silences third-party INFO logs and brax's import-time prints (call before importing them)."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  for name in ("jax", "jax._src.xla_bridge", "orbax", "absl", "etils", "tensorstore"):
    logging.getLogger(name).setLevel(logging.WARNING)
  from absl import logging as absl_logging
  absl_logging.set_verbosity(absl_logging.ERROR)
  with contextlib.redirect_stdout(io.StringIO()):
    try:
      import brax  # noqa: F401  (prints "Failed to import warp" on stdout at import)
    except ImportError:
      pass


def run(main, epilog: str | None = None) -> None:
  """`absl.app.run(main)` with one-line flag errors (exit 2) and `--help` exiting 0.

  `epilog` (default: the environment and road-network names) follows the flag list in `--help`.
  """
  def parse(argv):
    if any(a in HELP for a in argv[1:]):
      _help(argv, epilog)
    try:
      rest = FLAGS(argv)
    except flags.Error as e:
      fail(str(e).splitlines()[0])
    if len(rest) > 1:
      fail(f"unexpected argument {rest[1]!r}: every input is a --flag (see --help)")
    return rest

  def start(argv):
    enable_compilation_cache(FLAGS.compilation_cache)
    return main(argv)

  quiet()
  app.run(start, flags_parser=parse)


def enable_compilation_cache(directory: str) -> None:
  """Turns on JAX's persistent compilation cache in `directory` (nothing when empty)."""
  if not directory:
    return
  import jax
  jax.config.update("jax_compilation_cache_dir", os.path.expanduser(directory))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def _help(argv, epilog) -> typing.NoReturn:
  module = sys.modules.get("__main__")
  doc = (getattr(module, "__doc__", None) or "").strip()
  print(doc + "\n" if doc else "", end="")
  modules = [m for m in FLAGS.flags_by_module_dict() if not m.startswith(("absl", "chex"))]
  print("\nflags:\n" + "\n".join(FLAGS.module_help(m) for m in modules))
  print("\n" + (epilog if epilog is not None else names_epilog()))
  sys.exit(0)


def names_epilog() -> str:
  """The accepted environment and road-network names, for `--help`."""
  from softq import envs
  from softq.irl.data import NETWORKS
  return (f"environments: {', '.join(envs.NAMES)}\n"
          f"road networks (IRL apps): {', '.join(NETWORKS)}")


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


def define_config_flags(classes: dict, rename: dict | None = None, skip=(),
                        presets: dict | None = None) -> dict:
  """Defines one string flag per field of the dataclasses `classes` (`{label: class}`).

  A field shared by several classes gets one flag. `rename` maps field names to flag names
  (e.g. `total_steps` -> `steps`); fields in `skip` get none; `presets` (`{label: {field:
  value}}`) are the app's defaults over the classes' own, shown in the help. Every flag defaults
  to `None`, meaning "the app's preset, else the Config's default". Returns `{flag name: field
  name}`.
  """
  rename, presets = rename or {}, presets or {}
  owners: dict = {}
  for label, cls in classes.items():
    for field in dataclasses.fields(cls):
      if field.name not in skip:
        owners.setdefault(field.name, []).append((label, cls, field))
  names = {}
  for name, entries in owners.items():
    flag = rename.get(name, name)
    defaults = ", ".join(
        f"{label}: {_show(presets.get(label, {}).get(name, _default(f)))}"
        for label, _, f in entries)
    kind = _kind(entries[0][2].type)
    where = "" if len(entries) == len(classes) else f" [{', '.join(e[0] for e in entries)}]"
    if flag not in FLAGS:
      flags.DEFINE_string(flag, None, f"{kind}{where}; default {defaults}")
    names[flag] = name
  return names


def config_from_flags(cls, names: dict, preset: dict | None = None, label: str = ""):
  """`cls(**preset, **flags given)`: the flags of `define_config_flags` parsed by field type.

  A flag given on the command line for a field `cls` does not have is an error (one line, exit
  2), as is a value of the wrong type or one the Config rejects.
  """
  fields = {f.name: f for f in dataclasses.fields(cls)}
  values = dict(preset or {})
  for flag, name in names.items():
    raw = FLAGS[flag].value
    if raw is None or name not in fields:  # not given, or another class's field
      continue
    values[name] = parse_value(flag, raw, fields[name].type)
  try:
    return cls(**values)
  except ValueError as e:
    message = str(e)
    field = message.split(" ", 1)[0]
    flag = {name: flag for flag, name in names.items()}.get(field)
    fail(f"--{flag}{message[len(field):]}" if flag and FLAGS[flag].value is not None
         else message)


def given_but_unused(names: dict, classes: list) -> str | None:
  """The first flag given on the command line whose field no class in `classes` has."""
  known = {f.name for cls in classes for f in dataclasses.fields(cls)}
  for flag, name in names.items():
    if FLAGS[flag].value is not None and name not in known:
      return flag
  return None


def parse_value(flag: str, raw: str, annotation):
  """Parses the text of `--flag` as `annotation` (bool, int, float, str, tuple of ints, unions
  with None or str); a malformed value is a one-line exit 2."""
  text = raw.strip()
  options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (
      annotation,)
  if type(None) in options and text.lower() == "none":
    return None
  for option in sorted(options, key=lambda o: o is str):  # a name only if nothing else parses
    if option is type(None):
      continue
    try:
      return _parse_one(text, option)
    except ValueError:
      continue
  fail(f"--{flag} must be {_kind(annotation)}, got {raw!r}")


def _parse_one(text: str, option):
  if option is bool:
    if text.lower() in ("true", "1", "yes"):
      return True
    if text.lower() in ("false", "0", "no"):
      return False
    raise ValueError(text)
  if option is int:
    return int(text)
  if option is float:
    value = float(text)
    if math.isnan(value):
      raise ValueError(text)
    return value
  if option in (tuple, typing.Tuple) or typing.get_origin(option) is tuple:
    return tuple(int(x) for x in text.split(",") if x.strip())
  if option is str:
    return text
  raise ValueError(text)


def _kind(annotation) -> str:
  options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (
      annotation,)
  words = {bool: "true or false", int: "an integer", float: "a number (not nan)", str: "a name",
           type(None): "none"}
  return " or ".join(
      words.get(o, "comma-separated integers") for o in options)


def _default(field):
  if field.default is not dataclasses.MISSING:
    return field.default
  if field.default_factory is not dataclasses.MISSING:
    return field.default_factory()
  return None


def _show(value) -> str:
  if isinstance(value, tuple):
    return ",".join(str(v) for v in value)
  return str(value)


quiet()  # on import: apps import this module before anything that imports brax or orbax
