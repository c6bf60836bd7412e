"""Checkpoint and resume of a whole training run with orbax (the entire `train.Carry`), and
parameter hashes.

A checkpoint holds everything a run carries between chunks: parameters, target parameters,
optimizer states, α, replay buffers, environment states, PRNG keys and step counters, plus a
JSON description of the run (algorithm, environment, configs, sweep, replay capacity, array
shapes) that a resume must match; a mismatch names the first differing field.
Orbax writes each checkpoint into a temporary directory and renames it when complete, so a
process killed during a save leaves the previous checkpoint as the latest one; a save that fails
(e.g. a full disk) removes its temporary directory and raises `SaveError` naming the intact
previous checkpoint; only the last `keep` checkpoints are kept. Restoring the same carry into
the same compiled program continues the run bit for bit (on CPU).
"""

import errno
import hashlib
import json
import logging
import math
import os
import re
import shutil
import sys

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp


class CheckpointError(ValueError):
  """A missing, unreadable or mismatched checkpoint (one readable line)."""


class SaveError(CheckpointError):
  """A checkpoint that could not be written (e.g. a full disk); the earlier ones are intact.

  Attributes: `step` (the failed save), `directory`, `reason` (e.g. "No space left on
  device"), `errno` (or `None` when unknown) and `intact` (the latest complete checkpoint's
  step, or `None` when there is none).
  """

  def __init__(self, step: int, directory: str, reason: str, errno_: int | None,
               intact: int | None):
    self.step, self.directory, self.reason = step, directory, reason
    self.errno, self.intact = errno_, intact
    earlier = (f"the checkpoint at step {intact} is intact" if intact is not None
               else "there is no earlier checkpoint")
    super().__init__(f"could not save the checkpoint at step {step} in {directory} ({reason}); "
                     f"{earlier}")

  @property
  def disk_full(self) -> bool:
    """Whether the disk (or the user's quota) is full."""
    return self.errno in (errno.ENOSPC, errno.EDQUOT)


class Checkpointer:
  """Saves the carry every `every` environment steps (per seed) into `directory`.

  Usage: `ckpt = Checkpointer(dir, every, description)`, `ckpt.save(steps_done, carry)` after
  each chunk (it saves when `steps_done % every == 0` or `final`), `ckpt.close()`.
  """

  def __init__(self, directory: str, every: int, description: dict, keep: int = 3):
    if every < 1 or keep < 1:
      raise ValueError(f"checkpoint every and keep must be >= 1, got {every}, {keep}")
    self.every = every
    self.description = description
    options = ocp.CheckpointManagerOptions(
        preservation_policy=ocp.checkpoint_managers.LatestN(keep),
        enable_async_checkpointing=False)
    self._manager = ocp.CheckpointManager(os.path.abspath(directory), options=options)

  def save(self, steps_done: int, carry, final: bool = False) -> bool:
    """Writes `carry` as step `steps_done` if due; returns whether it saved."""
    if steps_done % self.every and not final:
      return False
    if steps_done in self._manager.all_steps():
      return False
    saveable = _to_saveable(carry)
    quiet = _Quiet()  # a failure is raised as one SaveError, not also logged by orbax
    try:
      self._manager.save(steps_done, args=ocp.args.Composite(
          carry=ocp.args.StandardSave(saveable),
          description=ocp.args.JsonSave(self.description)), force=True)
      self._manager.wait_until_finished()
    except Exception as e:  # OSError from Python writes, ValueError from tensorstore's
      raise self._failed(steps_done, e) from e  # `quiet` stays: abandoned writes still end
    quiet.remove()
    return True

  def _failed(self, step: int, error: Exception) -> SaveError:
    """The `SaveError` of a failed save, after removing its partial (temporary) directory.

    Orbax writes into `<step>.orbax-checkpoint-tmp` and renames it only when complete, so the
    partial save is never taken for a checkpoint; removing it frees its space.
    """
    directory = str(self._manager.directory)
    if jax.process_index() == 0:
      for name in os.listdir(directory):
        if name.startswith(f"{step}.orbax-checkpoint-tmp"):
          shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
    code = getattr(error, "errno", None)
    found = re.search(r"os_error_code='?(\d+)", str(error))  # tensorstore's errors
    if code is None and found:
      code = int(found.group(1))
    if code in errno.errorcode:
      reason = os.strerror(code)
    else:
      text = str(error).strip()
      reason = text.splitlines()[0][:200] if text else type(error).__name__
    complete = [int(n) for n in os.listdir(directory)
                if n.isdigit() and int(n) < step and os.path.isdir(os.path.join(directory, n))]
    return SaveError(step, directory, reason, code, max(complete, default=None))

  def close(self) -> None:
    self._manager.close()


class _Quiet(logging.Filter):
  """Silences the echoes of a failed save while installed (from construction to `remove`).

  Orbax logs the failed write's traceback (absl's log); the writes it abandoned still finish
  in tensorstore's threads and report "Event loop is closed" (unraisable) or an unretrieved
  task exception (asyncio's log), possibly after the save has raised, so after a failure it
  stays installed for the rest of the process. Other errors pass.
  """

  def __init__(self):
    super().__init__()
    self._previous = sys.unraisablehook
    sys.unraisablehook = self._unraisable
    for name in ("absl", "asyncio"):
      logging.getLogger(name).addFilter(self)

  def remove(self) -> None:
    if sys.unraisablehook == self._unraisable:
      sys.unraisablehook = self._previous
    for name in ("absl", "asyncio"):
      logging.getLogger(name).removeFilter(self)

  def _unraisable(self, unraisable) -> None:
    error = unraisable.exc_value
    if not (isinstance(error, RuntimeError) and str(error) == "Event loop is closed"):
      self._previous(unraisable)

  def filter(self, record: logging.LogRecord) -> bool:
    if record.levelno < logging.ERROR:
      return True
    if record.name == "asyncio":  # an orbax task's unretrieved exception
      message = record.getMessage()
      return not (message.startswith("Task exception was never retrieved")
                  and "orbax" in message)
    return f"{os.sep}orbax{os.sep}" not in record.pathname


def latest(directory: str, description: dict, ignore=(), defaults: dict | None = None) -> int:
  """The latest complete checkpoint's step in `directory`, after checking its description.

  Reads only; raises `CheckpointError` if there is none, it cannot be read, or its description
  differs from `description` in a field not in `ignore` (the first differing field is named,
  dotted, e.g. `config.critic_hidden`). `defaults` (nested like `description`) holds the values
  of fields a checkpoint written before they existed is taken to have (e.g. a Config field
  added later, at its default: the saved run behaved as that default does).
  """
  if not os.path.isdir(directory):
    raise CheckpointError(f"no checkpoint directory {directory!r}")
  steps = [int(name) for name in os.listdir(directory) if name.isdigit()
           and os.path.isdir(os.path.join(directory, name))]
  if not steps:
    raise CheckpointError(f"no complete checkpoint in {directory!r}")
  step = max(steps)
  path = os.path.join(directory, str(step), "description", "metadata")
  try:
    with open(path) as f:
      saved = json.load(f)
  except (OSError, ValueError):
    raise CheckpointError(f"corrupt: {path} (the checkpoint's description cannot be read)"
                          ) from None
  saved = _with_defaults(saved, defaults or {})
  differing = differences({k: v for k, v in saved.items() if k not in ignore},
                          {k: v for k, v in description.items() if k not in ignore})
  if differing:
    field, there, here = differing[0]
    rest = [d[0] for d in differing[1:]]
    more = (f" (also differ: {', '.join(rest[:3])}" + (f" and {len(rest) - 3} more" if
            len(rest) > 3 else "") + ")") if rest else ""
    raise CheckpointError(f"checkpoint {directory}/{step} does not match this run: {field} is "
                          f"{there!r} there, {here!r} here{more}")
  return step


def _with_defaults(saved: dict, defaults: dict) -> dict:
  """`saved` with every field of `defaults` that it lacks added (nested dicts merged)."""
  out = dict(saved)
  for key, value in defaults.items():
    if isinstance(value, dict) and isinstance(out.get(key), dict):
      out[key] = _with_defaults(out[key], value)
    elif key not in out:
      out[key] = value
  return out


def differences(saved, wanted, prefix: str = "") -> list[tuple[str, object, object]]:
  """`(dotted field, saved value, wanted value)` for every leaf where two descriptions differ."""
  if isinstance(saved, dict) and isinstance(wanted, dict):
    out = []
    for key in sorted(set(saved) | set(wanted)):
      out += differences(saved.get(key), wanted.get(key), f"{prefix}{key}.")
    return out
  return [] if saved == wanted else [(prefix.rstrip("."), saved, wanted)]


def saved_description(directory: str, step: int) -> dict:
  """The description stored with the checkpoint at `step` (after `latest` has read it)."""
  with open(os.path.join(directory, str(step), "description", "metadata")) as f:
    return json.load(f)


def restore(directory: str, step: int, like):
  """The carry saved at `step`, shaped and placed like `like` (arrays or `ShapeDtypeStruct`s).

  Raises `CheckpointError` when the saved arrays are unreadable or their shapes differ.
  """
  abstract = jax.tree.map(_abstract, _to_saveable(like))
  options = ocp.CheckpointManagerOptions(read_only=True, create=False)
  manager = ocp.CheckpointManager(os.path.abspath(directory), options=options)
  try:
    restored = manager.restore(step, args=ocp.args.Composite(
        carry=ocp.args.StandardRestore(abstract)))
  except Exception as e:  # orbax/tensorstore raise many types for damaged files
    message = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
    raise CheckpointError(f"corrupt: {directory}/{step} cannot be restored ({message})") from None
  finally:
    manager.close()
  carry = restored["carry"]
  for saved, wanted in zip(jax.tree.leaves(carry), jax.tree.leaves(abstract)):
    if saved.shape != wanted.shape or saved.dtype != wanted.dtype:
      raise CheckpointError(f"checkpoint {directory}/{step} has an array {saved.shape} "
                            f"{saved.dtype} where this run has {wanted.shape} {wanted.dtype}")
  return _from_saveable(carry, like)


def _is_key(x) -> bool:
  return jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _to_saveable(tree):
  """What orbax can store: typed PRNG keys -> their raw `uint32` data, arrays with no elements
  (e.g. MJX's `act` of a model without activations) -> a stand-in `[R]` of zeros (orbax refuses
  zero-size arrays; their shape and dtype come back from `like`). A `ShapeDtypeStruct` keeps its
  sharding (in a multi-process job a restored array must name every process's devices, not the
  first device)."""
  def data(x):
    if not isinstance(x, jax.ShapeDtypeStruct):
      return jax.random.key_data(x)
    raw = jax.eval_shape(jax.random.key_data, x)
    return jax.ShapeDtypeStruct(raw.shape, raw.dtype, sharding=getattr(x, "sharding", None))

  def stand_in(x):
    shape = x.shape[:1] if x.shape[:1] != (0,) else (1,)
    if isinstance(x, jax.ShapeDtypeStruct):
      sharding = getattr(x, "sharding", None) if shape == x.shape[:1] else None
      return jax.ShapeDtypeStruct(shape, x.dtype, sharding=sharding)
    return jnp.zeros(shape, x.dtype)

  def saveable(x):
    if _is_key(x):
      return data(x)
    return stand_in(x) if math.prod(x.shape) == 0 else x
  return jax.tree.map(saveable, tree)


def _from_saveable(tree, like):
  def original(x, ref):
    if _is_key(ref):
      return jax.random.wrap_key_data(x)
    if math.prod(ref.shape) == 0:
      return jnp.zeros(ref.shape, ref.dtype)
    return x
  return jax.tree.map(original, tree, like)


def _abstract(x):
  sharding = getattr(x, "sharding", None)
  if sharding is None:
    sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding)


def params_sha256(params) -> list[str]:
  """SHA-256 of each run's parameters (leaves `[R, ...]`, in tree order) as hex strings."""
  leaves = [np.asarray(x) for x in jax.tree.leaves(params)]
  out = []
  for r in range(leaves[0].shape[0]):
    h = hashlib.sha256()
    for leaf in leaves:
      h.update(np.ascontiguousarray(leaf[r]).tobytes())
    out.append(h.hexdigest())
  return out


def shapes(tree) -> dict:
  """`{path: "dtype[shape]"}` of every array leaf of `tree` (for a run's description)."""
  return {jax.tree_util.keystr(path).lstrip("."): f"{x.dtype}{list(x.shape)}"
          for path, x in jax.tree_util.tree_leaves_with_path(tree)}
