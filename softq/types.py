"""Plain containers shared by environments, the replay buffer, agents and the training loop."""

import flax
import jax


@flax.struct.dataclass
class Transition:
  """One transition (or a batch with leading axes): obs `[o]`, action `[d]`, the rest scalars."""

  obs: jax.Array
  action: jax.Array
  reward: jax.Array
  next_obs: jax.Array
  terminal: jax.Array
  truncated: jax.Array
