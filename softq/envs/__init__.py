"""Environments behind one interface (Brax `Env`/`State`); actions are always in `[-1, 1]^d`."""

from brax.envs.base import Env

from softq.envs import multigoal
from softq.envs.wrappers import EpisodeLimit

_ENVS = {
    "multigoal": (multigoal.MultiGoal, multigoal.HORIZON),
}

NAMES = tuple(_ENVS)


def make(name: str, episode_length: int | None = None) -> Env:
  """An `EpisodeLimit`-wrapped environment by name (default episode length from the spec)."""
  if name not in _ENVS:
    raise ValueError(f"unknown environment {name!r}; accepted: {', '.join(NAMES)}")
  cls, horizon = _ENVS[name]
  return EpisodeLimit(cls(), episode_length or horizon)
