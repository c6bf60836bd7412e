"""Continuous-control environments behind one interface (Brax `Env`/`State`; actions in
`[-1, 1]^d`), and the discrete-action gymnax tasks of §6.

`make(name, backend=...)` gives the project's own pure-JAX tasks (backend `jax`), Brax's
locomotion tasks (backends `generalized`, `positional`, `spring`, `mjx`; see `physics.TASKS`) and
the papers' tasks built on Brax physics (`PAPER_TASKS`: the swimmer with a finish line and the
quadruped maze, pre-training and fine-tuning tasks), each wrapped in `EpisodeLimit`, which marks
time limits as truncation, separately from termination, and keeps the real final observation.
The discrete tasks are `DISCRETE_NAMES`, built by `make_discrete` (`discrete.BatchEnv`, batched
auto-resetting copies).
"""

import importlib

from brax.envs.base import Env

from softq.envs import asymmetric_multigoal, multigoal, pendulum
from softq.envs.discrete import ENV_NAMES as DISCRETE_NAMES
from softq.envs.discrete import make as make_discrete
from softq.envs.wrappers import EpisodeLimit

_ENVS = {
    "multigoal": (multigoal.MultiGoal, multigoal.HORIZON),
    "asymmetric_multigoal": (asymmetric_multigoal.AsymmetricMultiGoal,
                             asymmetric_multigoal.HORIZON),
    "asymmetric_multigoal_obstacle": (asymmetric_multigoal.with_obstacle,
                                      asymmetric_multigoal.HORIZON),
    "pendulum": (pendulum.Pendulum, pendulum.HORIZON),
}

BRAX_NAMES = ("ant", "halfcheetah", "hopper", "humanoid", "walker2d", "swimmer", "reacher",
              "inverted_pendulum")
# The papers' tasks on Brax physics: name -> module of softq.envs with
# `make(name, backend) -> (env, horizon)` (imported on use: they load MuJoCo).
PAPER_TASKS = {
    "swimmer_finish": "swimmer_finish",
    **{name: "ant_tasks" for name in ("ant_maze", "ant_speed", "ant_hallway_wide",
                                      "ant_hallway_narrow", "ant_u_maze")},
}
NAMES = tuple(_ENVS) + BRAX_NAMES + tuple(PAPER_TASKS)


def paper_task_backends(name: str) -> tuple:
  """The backends of a `PAPER_TASKS` task, its default first."""
  return importlib.import_module(f"softq.envs.{PAPER_TASKS[name]}").BACKENDS


def make(name: str, episode_length: int | None = None, backend: str | None = None) -> Env:
  """An `EpisodeLimit`-wrapped environment by name.

  Args:
    name: one of `NAMES`.
    episode_length: steps before truncation (default: the task horizon of §4, 1000 for Brax tasks).
    backend: physics backend; `None` picks the default (`jax` for the project's own tasks,
      `spring` for Brax tasks, `generalized` for swimmer and swimmer_finish, `mjx` for
      the ant tasks).
  Raises:
    ValueError: unknown name or backend, listing the accepted ones.
  """
  if name in _ENVS:
    if backend not in (None, "jax"):
      raise ValueError(f"unknown backend {backend!r} for {name}; accepted: jax")
    cls, horizon = _ENVS[name]
    env = cls()
  elif name in BRAX_NAMES:
    from softq.envs import physics  # Brax's environment registry loads MuJoCo: import on use
    env, horizon = physics.make_brax(name, backend)
  elif name in PAPER_TASKS:
    env, horizon = importlib.import_module(f"softq.envs.{PAPER_TASKS[name]}").make(name, backend)
  else:
    raise ValueError(f"unknown environment {name!r}; accepted: {', '.join(NAMES)}")
  if episode_length is not None and episode_length < 1:
    raise ValueError(f"episode_length must be >= 1, got {episode_length}")
  return EpisodeLimit(env, episode_length or horizon)
