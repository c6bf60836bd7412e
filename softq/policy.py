"""Save a trained policy (parameters and config, no replay buffer or optimizer state) and load it
to act.

    from softq import policy
    pi = policy.load("runs/demo/sql", run=0)
    action = pi.act(obs, jax.random.key(0))          # mode="eval" by default

`save` writes `DIR/policy/policy.json` (algorithm, config, environment, sizes, runs) and
`DIR/policy/params.msgpack` (every run's `params`, leaves `[R, ...]`, flax serialization), each
to a temporary name first and then renamed, so a crash never leaves half a policy.
"""

import dataclasses
import json
import os

import flax.serialization
import jax
import numpy as np

from softq.agents import base

POLICY_DIR = "policy"


class PolicyError(ValueError):
  """A missing, unreadable or inconsistent saved policy (one readable line)."""


def save(run_dir: str, algo: str, config, params, env: dict, obs_size: int, action_size: int,
         runs: list) -> str:
  """Writes every run's `params` (leaves `[R, ...]`) with what rebuilds them; returns the folder.

  `env` holds what `softq.envs.make` needs (`name`, `episode_length`, `backend`); `runs` the
  per-run records (seed and swept values) in run order.
  """
  folder = os.path.join(run_dir, POLICY_DIR)
  os.makedirs(folder, exist_ok=True)
  meta = {"algo": algo, "config": base.config_to_dict(config), "env": env,
          "obs_size": int(obs_size), "action_size": int(action_size), "runs": runs}
  _write(os.path.join(folder, "params.msgpack"),
         flax.serialization.to_bytes(jax.device_get(params)))
  _write(os.path.join(folder, "policy.json"), json.dumps(meta, indent=2).encode())
  return folder


@dataclasses.dataclass(frozen=True)
class Policy:
  """One run's trained policy: `act(obs, key, mode="eval")` maps `obs [..., o]` to actions.

  `config` is the agent's Config, `agent` its module, `params` the run's parameters, `env` the
  environment it was trained on (`softq.envs.make(**policy.env)` rebuilds it).
  """

  algo: str
  agent: object
  config: object
  params: object
  env: dict
  run: dict

  def act(self, obs, key, mode: str = "eval"):
    """Actions for observations `obs [..., o]`: `[..., d]` in `[-1, 1]` (discrete: `[...]`)."""
    return _act(self.agent, self.config, self.params, obs, key, mode)


def load(run_dir: str, run: int = 0) -> Policy:
  """The policy of run `run` saved under `run_dir` (see `save`); raises `PolicyError`."""
  saved = load_all(run_dir)
  num_runs = len(saved.runs)
  if not 0 <= run < num_runs:
    raise PolicyError(f"run {run} is not saved in {run_dir!r}; runs 0..{num_runs - 1}")
  one = jax.tree.map(lambda x: jax.numpy.asarray(x[run]), saved.params)
  return Policy(algo=saved.algo, agent=saved.agent, config=saved.config, params=one,
                env=saved.env, run=saved.runs[run])


@dataclasses.dataclass(frozen=True)
class Saved:
  """Every run of a saved policy: `params` leaves `[R, ...]` (numpy), `runs` the R records."""

  algo: str
  agent: object
  config: object
  params: object
  env: dict
  obs_size: int
  action_size: int
  runs: list


def load_all(run_dir: str) -> Saved:
  """Every run's policy saved under `run_dir` (e.g. to start fine-tuning from, §4.5); raises
  `PolicyError` naming what is missing, unreadable or inconsistent."""
  from softq import agents
  folder = os.path.join(run_dir, POLICY_DIR)
  try:
    with open(os.path.join(folder, "policy.json")) as f:
      meta = json.load(f)
    with open(os.path.join(folder, "params.msgpack"), "rb") as f:
      blob = f.read()
  except FileNotFoundError:
    raise PolicyError(f"no saved policy in {run_dir!r} (expected {folder}/policy.json and "
                      "params.msgpack)") from None
  except (OSError, ValueError) as e:
    raise PolicyError(f"corrupt: {folder}/policy.json ({e})") from None
  if meta.get("algo") not in agents.AGENTS:
    raise PolicyError(f"{folder}/policy.json names algorithm {meta.get('algo')!r}; accepted: "
                      f"{', '.join(agents.AGENTS)}")
  agent = agents.AGENTS[meta["algo"]]
  try:
    config = base.config_from_dict(agent.Config, meta["config"])
  except (TypeError, ValueError) as e:
    raise PolicyError(f"{folder}/policy.json has a config this version rejects: {e}") from None
  num_runs = len(meta["runs"])
  abstract = jax.eval_shape(
      lambda k: agent.init(config, k, meta["obs_size"], meta["action_size"]).params,
      jax.random.key(0))
  template = jax.tree.map(lambda x: np.zeros((num_runs,) + x.shape, x.dtype), abstract)
  try:
    params = flax.serialization.from_bytes(template, blob)
  except Exception as e:  # msgpack raises several types for damaged bytes
    raise PolicyError(f"corrupt: {folder}/params.msgpack ({type(e).__name__})") from None
  for got, want in zip(jax.tree.leaves(params), jax.tree.leaves(template)):
    if np.shape(got) != want.shape:
      raise PolicyError(f"corrupt: {folder}/params.msgpack holds an array {np.shape(got)} where "
                        f"the config needs {want.shape}")
  return Saved(algo=meta["algo"], agent=agent, config=config, params=params, env=meta["env"],
               obs_size=meta["obs_size"], action_size=meta["action_size"], runs=meta["runs"])


@jax.jit(static_argnums=(0, 1, 5))
def _act(agent, config, params, obs, key, mode):
  return agent.act(config, params, obs, key, mode)


def _write(path: str, data: bytes) -> None:
  temporary = path + ".tmp"
  with open(temporary, "wb") as f:
    f.write(data)
  os.replace(temporary, path)
