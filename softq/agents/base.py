"""The one agent protocol every algorithm in `softq.agents` follows, continuous and discrete.

An agent is a module with:

- `Config`: a frozen dataclass, validated in `__post_init__` (one `ValueError` naming the field
  and the accepted values). It holds every hyperparameter, exploration included
  (`ExplorationConfig` for continuous agents), and `batch_size` for off-policy agents.
- `TrainState`: a `flax.struct.dataclass` pytree with at least `params` (what acting needs) and
  `step`, and a PRNG `key` where `update` draws random numbers.
- `init(config, key, obs_size, action_size) -> TrainState` (`action_size` is the number of
  actions for discrete agents).
- `update(config, state, batch) -> (state, metrics)`: one learning step on a replay minibatch
  (continuous, `replay.Transition` with leaves `[B, ...]`) or on a rollout (discrete,
  `discrete` rollouts `[T, E, ...]`); `metrics` is a dict of scalars.
- `act(config, params, obs, key, mode) -> actions`: `obs [..., o] -> [..., d]` (continuous, in
  `[-1, 1]^d`) or `[...]` (discrete, int). `mode` is "explore" (training) or "eval" (the
  agent's evaluation policy); agents may accept more (e.g. S2AC's particle selections).
- `q_values(config, params, obs, action) -> [...]`: the critic's `Q(s, a)` (figures, checks).
- optionally `entropy(config, params, obs, key) -> [...]`: the policy's entropy estimate.
- `SWEEPABLE`: `{name: TrainState fields}` — the values a sweep may set per run in one compiled
  program. A field that is an optimizer state of `common.adam` takes a learning rate; any other
  is a scalar array of the `TrainState` (e.g. `alpha`).
- `KIND`: "continuous" (off-policy, replay; `softq.train`) or "discrete" (on-policy rollouts).

Vocabulary shared by every agent: `critic` / `target_critic` (Q networks), `actor` (the policy
network: SQL's sampler, DDPG's `mu`, SAC's Gaussian, S2AC's `q0`), `target_actor`; widths
`critic_hidden` / `actor_hidden` (one network: `hidden`); learning rates
`critic_learning_rate` / `actor_learning_rate` (one rate for every optimizer: `learning_rate`);
`target_update_period`, `tau`, `discount`, `alpha`.
"""

import dataclasses
import types

from softq.agents import common

EXPLORATIONS = ("ou", "none")
REQUIRED = ("Config", "TrainState", "init", "update", "act", "q_values", "SWEEPABLE", "KIND")
KINDS = ("continuous", "discrete")


@dataclasses.dataclass(frozen=True)
class ExplorationConfig:
  """Exploration noise added to the actor's actions during training (§2.7).

  `exploration="ou"`: Ornstein–Uhlenbeck noise `n <- n - theta n + sigma N(0, I)`, reset at every
  episode start, added to the action and clipped to the box; `"none"`: the actor's own actions.
  """

  exploration: str = "none"
  ou_theta: float = 0.15
  ou_sigma: float = 0.3

  def __post_init__(self):
    common.check(self.exploration in EXPLORATIONS, "exploration",
                 f"one of {', '.join(EXPLORATIONS)}", self.exploration)
    common.check(0.0 < self.ou_theta <= 1.0, "ou_theta", "in (0, 1]", self.ou_theta)
    common.check(self.ou_sigma >= 0.0, "ou_sigma", ">= 0", self.ou_sigma)


def check_agent(module: types.ModuleType) -> types.ModuleType:
  """Returns `module` if it has every attribute of the protocol; raises `TypeError` otherwise."""
  missing = [name for name in REQUIRED if not hasattr(module, name)]
  if missing:
    raise TypeError(f"agent {module.__name__} lacks {', '.join(missing)}")
  if module.KIND not in KINDS:
    raise TypeError(f"agent {module.__name__} has KIND {module.KIND!r}; accepted: "
                    f"{', '.join(KINDS)}")
  fields = {f.name for f in dataclasses.fields(module.Config)}
  if module.KIND == "continuous" and not {"exploration", "batch_size"} <= fields:
    raise TypeError(f"continuous agent {module.__name__} needs Config.exploration and "
                    "Config.batch_size")
  return module


NETWORKS = ("critic", "actor", "sampler")


def start_from(state, params):
  """`state` whose networks (`critic`, `actor`, `sampler`: those it has) are taken from saved
  `params`, with each target network (`target_critic`, `target_actor`) a copy of them; every
  other field (optimizer states, step, key, e.g. SQL's frozen noise set) stays as `state` has it.

  Fine-tuning from a pre-trained policy (§4.5): `state` is a fresh `init`, `params` the `params`
  of a saved policy of the same agent and network sizes (leaves may carry a leading run axis).
  """
  nets = {name: getattr(params, name) for name in NETWORKS if hasattr(params, name)}
  targets = {f"target_{name}": net for name, net in nets.items()
             if hasattr(state, f"target_{name}")}
  return state.replace(params=state.params.replace(**nets), **targets)


def config_to_dict(config) -> dict:
  """A Config as JSON-ready values (tuples become lists); inverse of `config_from_dict`."""
  return dataclasses.asdict(config)


def config_from_dict(cls, values: dict):
  """`cls(**values)` with JSON lists turned back into the tuples the Config's fields hold.

  Unknown keys raise `ValueError` naming them (e.g. a policy saved by another version).
  """
  fields = {f.name for f in dataclasses.fields(cls)}
  unknown = sorted(set(values) - fields)
  if unknown:
    raise ValueError(f"{cls.__module__}.Config has no field {unknown[0]!r}")
  return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
