"""Input validation for the MaxEnt IRL graph functions: readable `ValueError`s (§5.2).

Checks on values run only on concrete (non-traced) arrays, so the public functions stay usable
under `jit` / `vmap`; shape and dtype checks always run.
"""

import jax
import jax.numpy as jnp
import numpy as np


def graph_inputs(src, dst, state_reward, edge_reward, horizon):
  """Validates an edge list, rewards and horizon; returns them as arrays.

  Args:
    src, dst: `[E]` int transitions.
    state_reward: `[S]` float.
    edge_reward: `[E]` float or None (zeros).
    horizon: int >= 1.
  Returns:
    `(src, dst, state_reward, edge_reward)` as jax arrays.
  """
  if not isinstance(horizon, (int, np.integer)) or isinstance(horizon, bool) or horizon < 1:
    raise ValueError(f"horizon must be an int >= 1, got {horizon!r}")
  src, dst = jnp.asarray(src), jnp.asarray(dst)
  state_reward = jnp.asarray(state_reward)
  if not jnp.issubdtype(state_reward.dtype, jnp.floating):
    state_reward = state_reward.astype(jnp.result_type(float))
  if src.ndim != 1 or dst.shape != src.shape or src.shape[0] == 0:
    raise ValueError(f"src and dst must be non-empty 1-D arrays of equal length, got shapes "
                     f"{src.shape} and {dst.shape}")
  if not (jnp.issubdtype(src.dtype, jnp.integer) and jnp.issubdtype(dst.dtype, jnp.integer)):
    raise ValueError(f"src and dst must be integer arrays, got {src.dtype} and {dst.dtype}")
  if state_reward.ndim != 1:
    raise ValueError(f"state_reward must be 1-D [S], got shape {state_reward.shape}")
  num_states = state_reward.shape[0]
  if edge_reward is None:
    edge_reward = jnp.zeros(src.shape, state_reward.dtype)
  edge_reward = jnp.asarray(edge_reward, state_reward.dtype)
  if edge_reward.shape != src.shape:
    raise ValueError(f"edge_reward must have shape [E]={src.shape}, got {edge_reward.shape}")
  if _concrete(src, dst):
    _edge_list(np.asarray(src), np.asarray(dst), num_states)
  for name, value in (("state_reward", state_reward), ("edge_reward", edge_reward)):
    if _concrete(value) and not np.all(np.isfinite(np.asarray(value))):
      raise ValueError(f"{name} must be finite (no NaN or inf)")
  return src, dst, state_reward, edge_reward


def state_index(index, num_states, name):
  """Checks that a concrete scalar state index lies in `[0, num_states)`."""
  if not _concrete(index):
    return
  value = np.asarray(index)
  if value.ndim != 0 or not np.issubdtype(value.dtype, np.integer):
    raise ValueError(f"{name} must be an integer scalar state index, got {index!r}")
  if not 0 <= int(value) < num_states:
    raise ValueError(f"{name}={int(value)} is out of range [0, {num_states})")


def reachable(log_z, origin, destination, horizon):
  """Raises if a concrete origin cannot reach the destination within the horizon."""
  if _concrete(log_z, origin, destination) and not np.isfinite(np.asarray(log_z)[origin]):
    raise ValueError(f"origin {int(origin)} cannot reach destination {int(destination)} within "
                     f"horizon={horizon} transitions")


def path(states, src, dst, num_states, horizon):
  """Validates a path of state indices: length, range, transitions present, destination last.

  Returns:
    the path as a jax int array `[L]`.
  """
  states = jnp.asarray(states)
  if states.ndim != 1 or not jnp.issubdtype(states.dtype, jnp.integer):
    raise ValueError(f"path must be a 1-D integer array of state indices, got {states.dtype} "
                     f"{states.shape}")
  if not 1 <= states.shape[0] <= horizon + 1:
    raise ValueError(f"path must have between 1 and horizon + 1 = {horizon + 1} states, got "
                     f"{states.shape[0]}")
  if not _concrete(states, src, dst):
    return states
  values = np.asarray(states)
  if values.min() < 0 or values.max() >= num_states:
    raise ValueError(f"path has state indices outside [0, {num_states})")
  present = set(zip(np.asarray(src).tolist(), np.asarray(dst).tolist()))
  for a, b in zip(values[:-1].tolist(), values[1:].tolist()):
    if (a, b) not in present:
      raise ValueError(f"path uses the transition {a} -> {b}, which is not in the graph")
  if np.any(values[:-1] == values[-1]):
    raise ValueError(f"path visits its destination {values[-1]} before its end (destinations "
                     "are absorbing)")
  return states


def _edge_list(src, dst, num_states):
  """Range and duplicate checks of a concrete edge list."""
  for name, index in (("src", src), ("dst", dst)):
    if index.min() < 0 or index.max() >= num_states:
      raise ValueError(f"{name} has transition endpoints outside [0, S={num_states}): min "
                       f"{index.min()}, max {index.max()}")
  keys = src.astype(np.int64) * num_states + dst
  if np.unique(keys).shape[0] != keys.shape[0]:
    raise ValueError("the edge list has duplicate transitions (same src and dst); merge them "
                     "(e.g. logsumexp their edge rewards)")


def _concrete(*values):
  """True when no value is a JAX tracer (so its contents can be inspected)."""
  return not any(isinstance(v, jax.core.Tracer) for v in values)
