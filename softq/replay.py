"""Device-resident ring replay buffer as a pytree: `init`, `add`, `sample` (jit and vmap friendly).

The buffer stores `Transition`s with a leading `[capacity]` axis. `terminal` marks true
terminations (no bootstrap) and `truncated` marks time-limit ends (bootstrap through them, §2.2);
`next_obs` is always the real next observation, also at the end of an episode.
"""

import chex
import flax
import jax
import jax.numpy as jnp

from softq.types import Transition

__all__ = ["ReplayBuffer", "Transition", "add", "grow", "init", "num_bytes", "sample"]


@flax.struct.dataclass
class ReplayBuffer:
  """Ring buffer: `data` leaves are `[capacity, ...]`; `position` is the next write index."""

  data: Transition
  position: jax.Array
  size: jax.Array

  @property
  def capacity(self) -> int:
    return self.data.reward.shape[0]


def init(capacity: int, example: Transition) -> ReplayBuffer:
  """An empty buffer for transitions shaped like `example` (one unbatched transition)."""
  if capacity < 1:
    raise ValueError(f"replay capacity must be >= 1, got {capacity}")
  data = jax.tree.map(lambda x: jnp.zeros((capacity,) + jnp.shape(x), jnp.asarray(x).dtype),
                      example)
  return ReplayBuffer(data=data, position=jnp.int32(0), size=jnp.int32(0))


def add(buffer: ReplayBuffer, batch: Transition) -> ReplayBuffer:
  """Writes `n` transitions (leaves `[n, ...]`, `n <= capacity`), overwriting the oldest."""
  n = batch.reward.shape[0]
  chex.assert_tree_shape_prefix(batch, (n,))
  if n > buffer.capacity:
    raise ValueError(f"cannot add {n} transitions to a buffer of capacity {buffer.capacity}")
  index = (buffer.position + jnp.arange(n)) % buffer.capacity
  data = jax.tree.map(lambda store, new: store.at[index].set(new.astype(store.dtype)),
                      buffer.data, batch)
  return ReplayBuffer(data=data,
                      position=(buffer.position + n) % buffer.capacity,
                      size=jnp.minimum(buffer.size + n, buffer.capacity))


def sample(buffer: ReplayBuffer, key: jax.Array, batch_size: int) -> Transition:
  """`batch_size` transitions drawn uniformly with replacement from the filled part.

  Returns leaves `[batch_size, ...]`. The buffer must hold at least one transition.
  """
  index = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
  return jax.tree.map(lambda store: store[index], buffer.data)


def num_bytes(capacity: int, obs_size: int, action_size: int, itemsize: int = 4) -> int:
  """Bytes a buffer of this capacity takes on the device: obs, action, reward, next_obs and the
  two episode-end flags, each `itemsize` bytes per entry (float32 in the training loop)."""
  per_item = itemsize * (2 * obs_size + action_size + 3)
  return capacity * per_item


def grow(buffer: ReplayBuffer, capacity: int) -> ReplayBuffer:
  """The same transitions in a buffer of larger `capacity` (zeros after them).

  Exact for a buffer that has never overwritten an entry (`position == size % capacity`): the
  grown buffer holds what a buffer created with `capacity` would hold after the same writes, and
  `sample` draws the same indices from it. Leaves may carry leading batch axes only through
  `jax.vmap`.
  """
  if capacity < buffer.capacity:
    raise ValueError(f"cannot shrink a replay buffer from {buffer.capacity} to {capacity}")
  pad = capacity - buffer.capacity
  data = jax.tree.map(lambda x: jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1)), buffer.data)
  return ReplayBuffer(data=data, position=buffer.size % capacity, size=buffer.size)
