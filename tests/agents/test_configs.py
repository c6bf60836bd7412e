"""Config validation of SAC and DDPG, row by row: each bad value raises one `ValueError` whose
whole message names the field, what it accepts and the value given; the boundary values each
range includes are accepted."""

import jax
import jax.numpy as jnp
import pytest

from softq.agents import ddpg, sac

BAD = [
    (sac.Config, {"alpha": 0.0}, "alpha must be > 0, got 0.0"),
    (sac.Config, {"learning_rate": 0.0}, "learning_rate must be > 0, got 0.0"),
    (sac.Config, {"batch_size": 0}, "batch_size must be > 0, got 0"),
    (sac.Config, {"entropy_particles": 0}, "entropy_particles must be > 0, got 0"),
    (sac.Config, {"discount": -0.1}, "discount must be in [0, 1], got -0.1"),
    (sac.Config, {"discount": 1.1}, "discount must be in [0, 1], got 1.1"),
    (sac.Config, {"tau": 0.0}, "tau must be in (0, 1], got 0.0"),
    (sac.Config, {"tau": 1.5}, "tau must be in (0, 1], got 1.5"),
    (sac.Config, {"critic_hidden": ()}, "critic_hidden must be a non-empty tuple of positive "
                                        "ints, got ()"),
    (sac.Config, {"actor_hidden": (8, 0)}, "actor_hidden must be a non-empty tuple of positive "
                                           "ints, got (8, 0)"),
    (sac.Config, {"eval_mode": "max"}, "eval_mode must be one of random, mean, got 'max'"),
    (sac.Config, {"auto_alpha": 1}, "auto_alpha must be True or False, got 1"),
    (ddpg.Config, {"critic_learning_rate": 0.0}, "critic_learning_rate must be > 0, got 0.0"),
    (ddpg.Config, {"actor_learning_rate": -1.0}, "actor_learning_rate must be > 0, got -1.0"),
    (ddpg.Config, {"batch_size": 0}, "batch_size must be > 0, got 0"),
    (ddpg.Config, {"target_update_period": 0}, "target_update_period must be > 0, got 0"),
    (ddpg.Config, {"preactivation_penalty": -0.5}, "preactivation_penalty must be >= 0, got -0.5"),
    (ddpg.Config, {"discount": -0.1}, "discount must be in [0, 1], got -0.1"),
    (ddpg.Config, {"discount": 1.1}, "discount must be in [0, 1], got 1.1"),
    (ddpg.Config, {"tau": 0.0}, "tau must be in (0, 1], got 0.0"),
    (ddpg.Config, {"tau": 1.5}, "tau must be in (0, 1], got 1.5"),
    (ddpg.Config, {"critic_hidden": (64, -1)}, "critic_hidden must be a non-empty tuple of "
                                               "positive ints, got (64, -1)"),
    (ddpg.Config, {"actor_hidden": ()}, "actor_hidden must be a non-empty tuple of positive "
                                        "ints, got ()"),
]

GOOD = [
    (sac.Config, {"discount": 0.0}), (sac.Config, {"discount": 1.0}), (sac.Config, {"tau": 1.0}),
    (sac.Config, {"eval_mode": "mean"}), (sac.Config, {"eval_mode": "random"}),
    (sac.Config, {"auto_alpha": True}),
    (ddpg.Config, {"discount": 0.0}), (ddpg.Config, {"discount": 1.0}),
    (ddpg.Config, {"tau": 1.0}), (ddpg.Config, {"preactivation_penalty": 0.0}),
    (ddpg.Config, {"target_update_period": 1}),
]


@pytest.mark.parametrize("factory,kwargs,message", BAD)
def test_a_bad_value_is_named_with_what_the_field_accepts(factory, kwargs, message):
  with pytest.raises(ValueError) as raised:
    factory(**kwargs)
  assert str(raised.value) == message


@pytest.mark.parametrize("factory,kwargs", GOOD)
def test_the_ends_of_each_range_are_accepted(factory, kwargs):
  assert getattr(factory(**kwargs), next(iter(kwargs))) == next(iter(kwargs.values()))


def test_sac_keeps_its_temperature_in_float32_under_x64(x64):
  state = sac.init(sac.Config(alpha=0.3, critic_hidden=(4,), actor_hidden=(4,)),
                   jax.random.key(0), 2, 1)
  assert state.alpha.dtype == jnp.float32 and float(state.alpha) == pytest.approx(0.3)
