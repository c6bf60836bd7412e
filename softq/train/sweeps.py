"""Hyperparameter sweeps inside one compiled program: which values may be swept, and setting them.

A sweep gives `V` values for one or more fields (zipped); each value is run with every seed, so
`R = V * S` runs share one program. The agent declares what can be swept (`SWEEPABLE`,
`softq.agents.base`): scalar `TrainState` arrays such as `alpha`, and learning rates held in the
optimizer states.
"""

import math

import jax.numpy as jnp

from softq.agents import common


def sweepable(agent) -> tuple[str, ...]:
  """The names `agent` lets a sweep set (its `SWEEPABLE` keys)."""
  return tuple(agent.SWEEPABLE)


def sweep_values(agent, sweep: dict) -> dict:
  """Validates a sweep: known fields, equal non-zero lengths, finite values > 0.

  Returns `{field: tuple of floats}`; raises `ValueError` naming the problem.
  """
  if not sweep:
    return {}
  allowed = sweepable(agent)
  for field, vals in sweep.items():
    if field not in allowed:
      raise ValueError(f"cannot sweep {field!r} for this agent; sweepable: "
                       f"{', '.join(allowed) or 'none'}")
    if not len(vals):
      raise ValueError(f"sweep {field} needs at least one value")
    if not all(math.isfinite(v) and v > 0 for v in vals):
      raise ValueError(f"sweep {field} values must be finite and > 0, got {list(vals)}")
  lengths = {len(v) for v in sweep.values()}
  if len(lengths) > 1:
    raise ValueError(f"swept fields need the same number of values, got {sorted(lengths)}")
  return {f: tuple(float(x) for x in v) for f, v in sweep.items()}


def runs(num_seeds: int, values: dict) -> list[dict]:
  """One `{"run", "seed", field: value...}` per run, in run order `r = value_index * S + seed`."""
  count = max((len(v) for v in values.values()), default=1)
  return [{"run": i * num_seeds + s, "seed": s, **{f: v[i] for f, v in values.items()}}
          for i in range(count) for s in range(num_seeds)]


def set_swept(agent, state, values: dict):
  """`state` (leaves `[R, ...]`) with each swept field set to its `[R]` values.

  A `TrainState` field that is an optimizer state (of `common.adam`) takes the value as its
  learning rate; any other is set directly (e.g. `alpha`).
  """
  for field, value in values.items():
    for name in agent.SWEEPABLE[field]:
      current = getattr(state, name)
      if hasattr(current, "hyperparams"):
        state = state.replace(**{name: common.with_learning_rate(current, value)})
      else:
        state = state.replace(**{name: jnp.asarray(value, current.dtype)})
  return state
