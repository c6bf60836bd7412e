"""Helpers shared by the agents: config validation, optimizers, target-network updates and the
automatic temperature of SAC and S2AC (§3.8)."""

import jax
import jax.numpy as jnp
import optax

from softq import losses


def check(condition: bool, field: str, accepted: str, value) -> None:
  """Raises `ValueError('<field> must be <accepted>, got <value>')` unless `condition`."""
  if not condition:
    raise ValueError(f"{field} must be {accepted}, got {value!r}")


def check_positive(config, *fields: str) -> None:
  """Checks that each named numeric field of `config` is > 0."""
  for field in fields:
    value = getattr(config, field)
    check(value > 0, field, "> 0", value)


def check_hidden(config, field: str) -> None:
  """Checks a tuple of positive layer widths."""
  value = getattr(config, field)
  check(isinstance(value, tuple) and len(value) > 0 and all(
      isinstance(w, int) and w > 0 for w in value), field,
        "a non-empty tuple of positive ints", value)


def update_target(target, online, step: jax.Array, period: int, tau: float):
  """Target update (§2.2, §2.9): every `period` steps, `target <- (1 - tau) target + tau online`.

  `tau = 1` is a hard copy; `period = 1` with small `tau` is Polyak averaging. `step` counts
  gradient steps already taken (the update happens when `step % period == 0` after increment).
  """
  due = (step % period) == 0
  return jax.tree.map(lambda t, o: jnp.where(due, (1.0 - tau) * t + tau * o, t), target, online)


def adam(learning_rate: float) -> optax.GradientTransformation:
  """Adam whose learning rate lives in its state (`hyperparams["learning_rate"]`, a scalar).

  `update` reads the rate from the state, so a sweep sets it per run by writing the state
  (`with_learning_rate`) and one compiled program trains every rate (sweeps, `softq.train`).
  """
  return optax.inject_hyperparams(optax.adam, static_args=("b1", "b2", "eps", "eps_root"))(
      learning_rate=learning_rate)


def with_learning_rate(opt_state, value):
  """`opt_state` (of `adam`) with its learning rate set to `value` (scalar, or `[R]` for a
  state batched over runs), in the state's dtype."""
  rate = opt_state.hyperparams["learning_rate"]
  hyperparams = dict(opt_state.hyperparams, learning_rate=jnp.asarray(value, rate.dtype))
  return opt_state._replace(hyperparams=hyperparams)


def target_entropy(config, action_size: int) -> float:
  """`config.target_entropy`, or `-d` when unset (§3.8)."""
  if config.target_entropy is None:
    return losses.sac_target_entropy(action_size)
  return config.target_entropy


def tune_alpha(opt, alpha, opt_state, log_probs, target: float, enabled: bool):
  """One Adam step on `log alpha` with `losses.sac_alpha_loss` (§3.8); identity if not `enabled`.

  Args:
    opt: the optax optimizer whose state is `opt_state`.
    alpha: scalar temperature.
    log_probs: `log pi` of fresh policy samples, any shape.
    target: target entropy.
    enabled: Python bool.
  Returns:
    `(alpha, opt_state)`.
  """
  if not enabled:
    return alpha, opt_state
  log_alpha = jnp.log(alpha)
  grad = jax.grad(losses.sac_alpha_loss)(log_alpha, log_probs, target)
  updates, opt_state = opt.update(grad, opt_state, log_alpha)
  return jnp.exp(optax.apply_updates(log_alpha, updates)), opt_state
