"""softq.replay: ring-buffer wrap-around, flags, shapes, sampling from the filled part only and
uniformly over it (chi-square), and exact growth of a never-wrapped buffer."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from softq import replay


def transitions(start, n, obs_size=3, action_size=2):
  i = jnp.arange(start, start + n, dtype=jnp.float32)
  return replay.Transition(
      obs=jnp.tile(i[:, None], (1, obs_size)), action=jnp.tile(-i[:, None], (1, action_size)),
      reward=i, next_obs=jnp.tile(i[:, None] + 0.5, (1, obs_size)),
      terminal=(i % 3 == 0).astype(jnp.float32), truncated=(i % 5 == 0).astype(jnp.float32))


def test_add_wraps_around_and_keeps_flags():
  buf = replay.init(5, jax.tree.map(lambda x: x[0], transitions(0, 1)))
  assert buf.data.obs.shape == (5, 3) and buf.data.action.shape == (5, 2)
  buf = jax.jit(replay.add)(buf, transitions(0, 3))
  assert int(buf.size) == 3 and int(buf.position) == 3
  buf = jax.jit(replay.add)(buf, transitions(3, 4))  # 3..6: 5 and 6 overwrite slots 0 and 1
  assert int(buf.size) == 5 and int(buf.position) == 2
  np.testing.assert_array_equal(buf.data.reward, [5, 6, 2, 3, 4])
  np.testing.assert_array_equal(buf.data.terminal, [0, 1, 0, 1, 0])
  np.testing.assert_array_equal(buf.data.truncated, [1, 0, 0, 0, 0])
  np.testing.assert_array_equal(buf.data.next_obs[:, 0], [5.5, 6.5, 2.5, 3.5, 4.5])


def test_sample_only_from_filled_part_and_shapes():
  buf = replay.init(100, jax.tree.map(lambda x: x[0], transitions(0, 1)))
  buf = replay.add(buf, transitions(10, 7))
  batch = jax.jit(replay.sample, static_argnums=2)(buf, jax.random.key(0), 256)
  assert batch.obs.shape == (256, 3) and batch.reward.shape == (256,)
  assert set(np.asarray(batch.reward).tolist()) == set(range(10, 17))
  np.testing.assert_array_equal(batch.obs[:, 0], batch.reward)  # rows stay together


def test_vmapped_buffers_are_independent():
  example = jax.tree.map(lambda x: x[0], transitions(0, 1))
  bufs = jax.vmap(lambda _: replay.init(4, example))(jnp.arange(2))
  both = jax.tree.map(lambda a, b: jnp.stack([a, b]), transitions(0, 3), transitions(100, 3))
  bufs = jax.vmap(replay.add)(bufs, both)
  np.testing.assert_array_equal(bufs.data.reward[:, :3], [[0, 1, 2], [100, 101, 102]])


def test_rejects_bad_sizes():
  example = jax.tree.map(lambda x: x[0], transitions(0, 1))
  with pytest.raises(ValueError, match="capacity"):
    replay.init(0, example)
  with pytest.raises(ValueError, match="capacity 2"):
    replay.add(replay.init(2, example), transitions(0, 3))


def test_grow_equals_a_buffer_created_larger():
  """Growing a never-wrapped buffer (filled exactly, or partly) gives what a larger buffer holds
  after the same writes, and `sample` draws the same transitions from both."""
  example = jax.tree.map(lambda x: x[0], transitions(0, 1))
  for filled in (6, 4):
    small, large = replay.init(6, example), replay.init(10, example)
    small = replay.add(small, transitions(0, filled))
    large = replay.add(large, transitions(0, filled))
    grown = replay.grow(small, 10)
    for a, b in zip(jax.tree.leaves(grown), jax.tree.leaves(large)):
      np.testing.assert_array_equal(a, b)
    grown = replay.add(grown, transitions(filled, 3))
    large = replay.add(large, transitions(filled, 3))
    for a, b in zip(jax.tree.leaves(grown), jax.tree.leaves(large)):
      np.testing.assert_array_equal(a, b)
    key = jax.random.key(3)
    np.testing.assert_array_equal(replay.sample(grown, key, 16).reward,
                                  replay.sample(large, key, 16).reward)
  with pytest.raises(ValueError, match="cannot shrink"):
    replay.grow(replay.init(6, example), 4)


@pytest.mark.parametrize("capacity,written", [(64, 100), (100, 40)])
def test_sample_frequencies_are_uniform_over_the_filled_slots(capacity, written):
  """16 384 draws (64 batches of 256, fixed keys) from a wrapped-around full buffer and from a
  partly filled one hit every filled slot equally often: Pearson's chi-square statistic stays
  below its 1 - 1e-6 quantile.

  Fails if sampling favours some entries, e.g. recent ones (an index drawn as the larger of two
  uniforms gives a statistic near n/3 = 5461, one from the upper half near n = 16 384, against
  thresholds of 131 and 96)."""
  example = jax.tree.map(lambda x: x[0], transitions(0, 1))
  buf = replay.add(replay.init(capacity, example), transitions(0, min(written, capacity)))
  if written > capacity:
    buf = replay.add(buf, transitions(capacity, written - capacity))
  filled = min(written, capacity)
  keys = jax.random.split(jax.random.key(11), 64)
  rewards = jax.jit(jax.vmap(lambda k: replay.sample(buf, k, 256).reward))(keys)
  slots = np.asarray(rewards).astype(int).ravel() % capacity  # transition i sits in slot i % C
  counts = np.bincount(slots, minlength=capacity)
  assert counts[filled:].sum() == 0
  n = slots.size
  expected = n / filled
  statistic = float(np.sum((counts[:filled] - expected) ** 2) / expected)
  assert statistic < stats.chi2.ppf(1.0 - 1e-6, filled - 1), statistic


def test_a_single_transition_is_the_only_one_sampled():
  """A buffer of capacity 1 is valid, and with one transition stored (in a larger buffer too)
  every sample is that transition, never an empty slot."""
  example = jax.tree.map(lambda x: x[0], transitions(0, 1))
  for capacity in (1, 5):
    buf = replay.add(replay.init(capacity, example), transitions(7, 1))
    batch = replay.sample(buf, jax.random.key(0), 64)
    np.testing.assert_array_equal(batch.reward, np.full(64, 7.0))


def test_add_rejects_ragged_batches_and_grow_accepts_the_same_capacity():
  example = jax.tree.map(lambda x: x[0], transitions(0, 1))
  buf = replay.init(4, example)
  ragged = transitions(0, 3).replace(obs=jnp.zeros((2, 3)))
  with pytest.raises(AssertionError):
    replay.add(buf, ragged)
  buf = replay.add(buf, transitions(0, 3))
  for a, b in zip(jax.tree.leaves(replay.grow(buf, 4)), jax.tree.leaves(buf)):
    np.testing.assert_array_equal(a, b)


def test_num_bytes_is_what_the_buffer_holds():
  """`num_bytes` (the memory check's figure) equals the bytes of a buffer built like the training
  loop's: float32 obs, action, reward, next_obs and flags."""
  obs_size, action_size, capacity = 7, 3, 50
  example = replay.Transition(obs=jnp.zeros(obs_size), action=jnp.zeros(action_size),
                              reward=jnp.zeros(()), next_obs=jnp.zeros(obs_size),
                              terminal=jnp.zeros(()), truncated=jnp.zeros(()))
  buf = replay.init(capacity, example)
  held = sum(leaf.nbytes for leaf in jax.tree.leaves(buf.data))
  assert replay.num_bytes(capacity, obs_size, action_size) == held


def test_init_keeps_the_example_dtypes():
  """With x64 enabled a float32 / int32 example still gives float32 / int32 storage (the buffer
  is half the size a default-dtype one would be)."""
  with jax.enable_x64(True):
    example = jax.tree.map(lambda x: x[0], transitions(0, 1)).replace(terminal=jnp.int32(0))
    buf = replay.init(3, example)
    assert buf.data.obs.dtype == jnp.float32 and buf.data.terminal.dtype == jnp.int32
