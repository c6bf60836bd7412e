"""The one launcher behind every off-policy app: flags, keys, outputs, resume, logs, results.

An app is an `App`: the algorithms it offers, presets (Config and loop defaults) and a report
hook that adds figures and fields to results.json. `define(app)` declares its flags (at import
time), `main(app)` runs it:

    APP = launch.App(name="multigoal", algos=("sql", "ddpg"), default_algo="sql", ...)
    launch.define(APP)
    if __name__ == "__main__":
      cli.run(lambda argv: launch.main(APP))

The launcher owns, once for every app:
- flags derived from the agents' `Config` fields and `train.LoopConfig` (values parsed by field
  type; ranges checked by the Configs), so the Python API and the CLI share defaults;
- output directories: a fresh run refuses a non-empty `--out` unless `--overwrite`; `--resume
  DIR` continues in DIR to any larger `--steps`, bit-identical (CPU) to one uninterrupted run;
- the checkpoint description (app, algorithm, environment, configs, seeds, sweep, replay
  capacity, every parameter and state shape): a mismatch names the differing field;
- a checkpoint at the end of every run (and every `--checkpoint_every` steps), the final policy
  (`softq.policy`), metrics.csv / TensorBoard / one progress bar (`softq.logging`),
  learning_curve.png, results.json's common core, exit codes (2: bad input, 3: a run diverged).
Every input error is one line on stderr with exit code 2, before anything is compiled.
"""

import dataclasses
import functools
import importlib.metadata
import json
import os
import platform
import shutil
import sys
import time
from typing import Callable

from absl import flags

from softq import cli

FLAGS = flags.FLAGS
EXIT_DIVERGED = 3


@dataclasses.dataclass(frozen=True)
class App:
  """An experiment as a preset plus a report.

  Attributes:
    name: the app's name (results.json `app`; the default output folder `runs/<name>`).
    algos: the algorithms it offers: names in `softq.agents.AGENTS` (continuous) or names of
      `variants`.
    default_algo: the `--algo` default (comma-separated when `multi`).
    env: a fixed environment name, or `None` for an `--env` flag (default `default_env`).
    presets: `{algo: {Config field: value}}`, the app's defaults over each Config's own.
    loop: `{LoopConfig field: value}`, the app's loop defaults.
    seeds: the `--seeds` default.
    sweep: the `--sweep` default, or `{algo: default}` for a `multi` app whose algorithms sweep
      different fields (an explicit `--sweep` applies to every algorithm).
    variants: `{algo: agent name}` for algorithms that are presets of another agent.
    multi: `--algo` takes several algorithms, each trained into `DIR/<algo>/` (its own
      checkpoints, policy and results.json); `combine` then writes what compares them.
    multi_env: (with `multi`) `--env` takes several environments too; every (environment,
      algorithm) pair is one program, trained into `DIR/<env>/<algo>/`.
    tasks: `{env: {algo: {Config field: value}}}`, per-task defaults over `presets` (and under
      a budget's and the flags'), e.g. a benchmark's per-task settings.
    report: `report(run: Run) -> dict` after each training: writes figures, returns extra
      results.json fields, may leave arrays for `combine` in `run.extras`.
    combine: `combine(runs: list[Run], out) -> dict` for a `multi` app: DIR/results.json.
    summary: results.json fields printed with the final returns on stdout.
    check: `check(algo, config, loop)` -> an error line or `None`, for app-specific rules.
    budgets: `{name: {"loop": {LoopConfig field: value}, algo: {Config field: value}}}`,
      chosen by `--preset NAME` over `presets` and `loop` (e.g. the paper's budget and one that
      fits a CPU); explicit flags still win.
    track: environment metrics whose per-chunk extremes join metrics.csv as `<name>_max` and
      `<name>_min` (`softq.train.loop.build`).
    init_policy: `init_policy(algo) -> DIR or None`: a policy saved by an earlier run
      (`softq.policy`) whose networks each run starts from (fine-tuning, §4.5), run r from
      saved run r; the saved runs must be this run's (same seeds and swept values).
  """

  name: str
  algos: tuple
  default_algo: str
  env: str | None = None
  default_env: str = "multigoal"
  presets: dict = dataclasses.field(default_factory=dict)
  loop: dict = dataclasses.field(default_factory=dict)
  seeds: int = 2
  sweep: str | dict = ""
  variants: dict = dataclasses.field(default_factory=dict)
  multi: bool = False
  multi_env: bool = False
  tasks: dict = dataclasses.field(default_factory=dict)
  report: Callable | None = None
  combine: Callable | None = None
  summary: tuple = ()
  check: Callable | None = None
  budgets: dict = dataclasses.field(default_factory=dict)
  track: tuple = ()
  init_policy: Callable | None = None

  def agent_name(self, algo: str) -> str:
    """The `softq.agents.AGENTS` name behind `algo`."""
    return self.variants.get(algo, algo)


@dataclasses.dataclass
class Run:
  """What a report hook gets: the app, the agent and its configs, the environment, the output
  directory, the `softq.train.Result`, the logger's evaluation history, the runs' records and
  `extras` (arrays a report leaves for `combine`)."""

  app: App
  algo: str
  agent: object
  config: object
  loop: object
  env: object
  env_name: str
  out: str
  seed: int
  result: object
  logger: object
  records: list
  init_policy: str | None = None
  extras: dict = dataclasses.field(default_factory=dict)


_NAMES: dict = {}


def define(app: App) -> None:
  """Declares the app's flags: common ones, one per Config / LoopConfig field (see `cli`)."""
  from softq import agents
  from softq.train.loop import LoopConfig
  several = " (comma-separated: each is trained into DIR/ALGO)" if app.multi else ""
  flags.DEFINE_string("algo", app.default_algo, f"Algorithm: {', '.join(app.algos)}{several}.")
  if app.env is None:
    flags.DEFINE_string("env", app.default_env, "Environment name (listed by --help)" + (
        "; comma-separated: each is trained into DIR/ENV/ALGO." if app.multi_env else "."))
  flags.DEFINE_string("backend", None, "Physics backend (Brax: generalized, positional, spring, "
                      "mjx; default: the environment's own).")
  flags.DEFINE_integer("episode_length", None, "Steps before truncation (default: the task's).")
  flags.DEFINE_integer("seeds", app.seeds, "Independent seeds per sweep value (vmapped).")
  flags.DEFINE_integer("seed", 0, "Base PRNG seed.")
  default_sweep = app.sweep if isinstance(app.sweep, str) else ""
  flags.DEFINE_string("sweep", default_sweep, "Swept fields (the agent's SWEEPABLE, e.g. alpha and "
                      "learning rates): alpha=0.1,0.2,0.5 or 'critic_learning_rate=1e-3,3e-4;"
                      "actor_learning_rate=1e-4,3e-5' (fields separated by ';' are zipped).")
  flags.DEFINE_string("out", None, f"Output directory (default runs/{app.name}"
                      f"{'' if app.multi else '/ALGO'}).")
  flags.DEFINE_bool("overwrite", False, "Replace the contents of a non-empty --out.")
  flags.DEFINE_string("resume", None, "Continue the run saved in this directory to --steps.")
  flags.DEFINE_integer("checkpoint_every", 0, "Also checkpoint every N steps (a multiple of "
                       "--chunk; 0: only at the end).")
  flags.DEFINE_integer("keep", 3, "Checkpoints kept.")
  flags.DEFINE_bool("distributed", False, "Join a multi-process job (jax.distributed).")
  flags.DEFINE_string("coordinator", None, "host:port of process 0 (with --distributed).")
  flags.DEFINE_integer("num_processes", None, "Process count (with --distributed).")
  flags.DEFINE_integer("process_id", None, "This process's index (with --distributed).")
  if app.budgets:
    flags.DEFINE_string("preset", None, f"Budget preset: {', '.join(app.budgets)} (default: "
                        "the app's own small budget).")
  classes = {name: agents.AGENTS[app.agent_name(name)].Config for name in app.algos}
  _NAMES["config"] = cli.define_config_flags(classes, presets=app.presets)
  _NAMES["loop"] = cli.define_config_flags({"loop": LoopConfig}, rename=LoopConfig.FLAG_NAMES,
                                           presets={"loop": app.loop})


def main(app: App) -> int:
  """Runs the app from its flags; returns the exit code (0, or 3 when a run diverged).

  Everything is checked first (flags, Configs, environment, sweep, memory, output directory,
  checkpoints to resume); then each algorithm is trained and reported in turn.
  """
  settings = _settings(app)
  import jax
  if FLAGS.distributed:
    # Before any JAX computation; gloo (JAX's default) carries the CPU collectives between
    # processes. Without flags, JAX reads the job from SLURM / Open MPI.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(FLAGS.coordinator, FLAGS.num_processes, FLAGS.process_id)
  groups = [_prepare(app, env_name, algo, config, settings)
            for env_name, algo, config in settings["groups"]]
  if settings["resume"] and all(g["start"] == g["loop"].total_steps for g in groups):
    cli.fail(f"every algorithm in {settings['resume']!r} is at step {groups[0]['start']} "
             "already; --steps must exceed it")
  if (jax.process_index() == 0 and not settings["resume"]
      and _non_empty(settings["out"])):  # --overwrite, checked above
    _empty(settings["out"])
  _barrier("emptied")
  runs, all_results = [], []
  for group in groups:
    run, results = _train(app, **group)
    if run is not None:
      runs.append(run)
      all_results.append(results)
  if not runs:  # a process other than the first in a multi-process job
    return 0
  summary = {"out": settings["out"]}
  if app.multi:
    combined = {"app": app.name, "command": _command(),
                "algos": list(dict.fromkeys(r.algo for r in runs)),
                **(app.combine(runs, settings["out"]) if app.combine else {})}
    _write_json(os.path.join(settings["out"], "results.json"), combined)
    summary.update({k: combined[k] for k in app.summary if k in combined})
  for results in all_results:
    prefix = f"{results['algo']}: " if app.multi else ""
    if app.multi_env:
      prefix = f"{results['env']['name']}/{prefix}"
    if not app.multi:
      summary.update({k: results[k] for k in app.summary if k in results})
    summary[f"{prefix}final_eval_return"] = [r["final_eval_return"] for r in results["runs"]]
  print(json.dumps(summary))
  diverged = [(results["algo"], d) for results in all_results for d in results["diverged"]]
  for algo, d in diverged:
    print(f"error: {algo} run {d['run']} ({_label(d)}) went non-finite at step {d['step']} "
          f"({d['metric']} = {d['value']}); frozen at its last finite state", file=sys.stderr)
  return EXIT_DIVERGED if diverged else 0


def _settings(app: App) -> dict:
  """Every flag checked and every Config built, before anything is compiled."""
  from softq import agents
  from softq.train.loop import LoopConfig
  algos = [a.strip() for a in FLAGS.algo.split(",")] if app.multi else [FLAGS.algo]
  bad = [a for a in algos if a not in app.algos]
  if not app.multi and bad:
    cli.fail(f"--algo {FLAGS.algo!r} is not available; accepted: {', '.join(app.algos)}")
  if bad or not algos or len(set(algos)) < len(algos):
    problem = f"{bad[0]} is not available" if bad else "empty or repeated"
    cli.fail(f"--algo {FLAGS.algo!r}: {problem}; accepted: {', '.join(app.algos)}")
  for name in ("seeds", "keep"):
    if FLAGS[name].value < 1:
      cli.fail(f"--{name} must be >= 1, got {FLAGS[name].value}")
  classes = {a: agents.AGENTS[app.agent_name(a)].Config for a in algos}
  unused = cli.given_but_unused(_NAMES["config"], list(classes.values()))
  if unused:
    cli.fail(f"--{unused} does not apply to {', '.join(algos)} (a field of another algorithm's "
             "Config)")
  budget = {}
  if app.budgets and FLAGS.preset is not None:
    if FLAGS.preset not in app.budgets:
      cli.fail(f"--preset {FLAGS.preset!r} is not a preset; accepted: {', '.join(app.budgets)}")
    budget = app.budgets[FLAGS.preset]
  loop = cli.config_from_flags(LoopConfig, _NAMES["loop"], {**app.loop, **budget.get("loop", {})})
  env_names = _env_names(app)
  groups = []
  for env_name in env_names:
    for algo, cls in classes.items():
      config = cli.config_from_flags(cls, _NAMES["config"], {
          **app.presets.get(algo, {}), **app.tasks.get(env_name, {}).get(algo, {}),
          **budget.get(algo, {})})
      if app.check is not None:
        problem = app.check(algo, config, loop)
        if problem:
          cli.fail(problem)
      groups.append((env_name, algo, config))
  every = FLAGS.checkpoint_every
  if every < 0 or every % loop.chunk_steps:
    cli.fail(f"--checkpoint_every must be 0 or a positive multiple of --chunk "
             f"({loop.chunk_steps}), got {every}")
  if isinstance(app.sweep, dict) and not FLAGS["sweep"].present:
    sweep = {algo: parse_sweep(app.sweep.get(algo, "")) for algo in algos}
  else:
    sweep = dict.fromkeys(algos, parse_sweep(FLAGS.sweep))
  if FLAGS.distributed:
    _check_distributed()
  resume = FLAGS.resume
  out = FLAGS.out or resume or os.path.join("runs", app.name, *([] if app.multi else algos))
  if resume and FLAGS.out and os.path.abspath(FLAGS.out) != os.path.abspath(resume):
    cli.fail(f"--resume continues in its own directory; drop --out or make it {resume!r}")
  if resume and FLAGS.overwrite:
    cli.fail("--resume and --overwrite exclude each other (one continues a run, the other "
             "replaces it)")
  if resume and not os.path.isdir(resume):
    cli.fail(f"--resume {resume!r} is not a directory")
  if not resume and _non_empty(out) and not FLAGS.overwrite:
    cli.fail(f"--out {out!r} is not empty (another run's results); choose a new directory, "
             f"pass --overwrite to replace it, or --resume {out} to continue it")
  return dict(groups=groups, loop=loop, sweep=sweep, out=out, resume=resume, multi=app.multi,
              multi_env=app.multi_env)


def _env_names(app: App) -> list:
  """The environments to train on: the app's own, `--env`, or (`multi_env`) its list."""
  if app.env is not None:
    return [app.env]
  if not app.multi_env:
    return [FLAGS.env]
  names = [e.strip() for e in FLAGS.env.split(",")]
  if not all(names) or len(set(names)) < len(names):
    cli.fail(f"--env {FLAGS.env!r}: empty or repeated names")
  from softq import envs
  unknown = [name for name in names if name not in envs.NAMES]  # before any task is built
  if unknown:
    cli.fail(f"unknown environment {unknown[0]!r}; accepted: {', '.join(envs.NAMES)}")
  return names


def _prepare(app, env_name, algo, config, settings) -> dict:
  """One (environment, algorithm) pair's environment, program, description and (resume)
  checkpoint, all checked; nothing compiled yet."""
  import jax
  from softq import agents, checkpoint, envs, train
  loop = settings["loop"]
  agent = agents.AGENTS[app.agent_name(algo)]
  if agent.KIND != "continuous":
    cli.fail(f"--algo {algo} is a discrete agent; this launcher trains continuous ones")
  try:
    env = envs.make(env_name, FLAGS.episode_length, backend=FLAGS.backend)
  except ValueError as e:
    cli.fail(str(e))
  try:
    values = train.sweep_values(agent, settings["sweep"][algo])
    num_runs = FLAGS.seeds * max((len(v) for v in values.values()), default=1)
    train.check_memory(env, loop, num_runs)  # raises when the replay buffers do not fit
  except ValueError as e:
    cli.fail(f"{algo}: {e}" if settings["multi"] else str(e))
  used = train.processes_used(num_runs)
  if used < jax.process_count():
    cli.fail(f"{num_runs} runs are sharded over {train.shard_count(num_runs, jax.device_count())}"
             f" of {jax.device_count()} devices, leaving {jax.process_count() - used} of "
             f"{jax.process_count()} processes without a run; make the run count (seeds x sweep "
             "values) a multiple of the device count")
  out = os.path.join(settings["out"], *([env_name] if settings["multi_env"] else []),
                     *([algo] if settings["multi"] else []))
  program = train.build(agent, config, env, loop, app.track)
  keys = jax.random.split(jax.random.key(FLAGS.seed), FLAGS.seeds)
  abstract = jax.eval_shape(program.init, jax.numpy.tile(keys, num_runs // FLAGS.seeds))
  init_dir = app.init_policy(algo) if app.init_policy is not None else None
  initial = None
  if init_dir is not None:
    initial = _initial_params(init_dir, app.agent_name(algo), env, abstract.seeds.agent.params,
                              train.list_runs(FLAGS.seeds, values))
  description = describe(app, algo, config, loop, values, env_name, abstract)
  description["init_policy"] = init_dir
  directory = os.path.join(out, "checkpoints")
  restore, start, capacity = None, 0, None
  # A multi-algorithm run stopped before an algorithm's first checkpoint starts that one afresh,
  # and one already at --steps is only reported again.
  if settings["resume"] and not (settings["multi"] and not os.path.isdir(directory)):
    try:
      start = checkpoint.latest(directory, description, ignore=("buffer_capacity",),
                                defaults=_description_defaults(type(config)))
    except checkpoint.CheckpointError as e:
      cli.fail(str(e))
    if start > loop.total_steps or (start == loop.total_steps and not settings["multi"]):
      cli.fail(f"the checkpoint in {directory!r} is at step {start}; --steps must exceed it")
    capacity = checkpoint.saved_description(directory, start)["buffer_capacity"]
    if capacity > loop.buffer_capacity:
      cli.fail(f"the checkpoint's replay buffer holds {capacity} transitions; this run's "
               f"would hold {loop.buffer_capacity} (raise --steps or --replay)")
    restore = functools.partial(checkpoint.restore, directory, start)
  description["buffer_capacity"] = loop.buffer_capacity
  return dict(algo=algo, agent=agent, config=config, loop=loop, env=env, env_name=env_name,
              values=values, num_runs=num_runs, program=program, keys=keys,
              description=description, out=out, root=settings["out"], restore=restore,
              start=start, capacity=capacity, initial=initial, init_dir=init_dir)


def _initial_params(directory: str, agent_name: str, env, like, runs: list):
  """The saved policy in `directory` as every run's starting parameters (leaves `[R, ...]`),
  checked against this run: same agent, sizes, network shapes (`like`) and runs."""
  import jax
  from softq import policy
  from softq.agents import base
  try:
    saved = policy.load_all(directory)
  except policy.PolicyError as e:
    cli.fail(str(e))
  where = f"the policy in {directory!r}"
  if saved.algo != agent_name:
    cli.fail(f"{where} is a {saved.algo} policy; this run trains {agent_name}")
  if (saved.obs_size, saved.action_size) != (env.observation_size, env.action_size):
    cli.fail(f"{where} takes observations of size {saved.obs_size} and actions of size "
             f"{saved.action_size}; this environment has {env.observation_size} and "
             f"{env.action_size}")
  for name in base.NETWORKS:
    if hasattr(like, name):
      want = jax.tree.map(lambda x: x.shape[1:], getattr(like, name))  # past the run axis
      got = jax.tree.map(lambda x: x.shape[1:], getattr(saved.params, name))
      if got != want:
        cli.fail(f"{where} has {name} networks of other sizes than this run's "
                 f"(compare --{name}_hidden with {directory}/policy/policy.json)")
  if saved.runs != runs:
    cli.fail(f"{where} holds runs {_labels(saved.runs)}; this run has {_labels(runs)} (use the "
             "same --seeds and --sweep as the run that saved it)")
  return saved.params


def _labels(runs: list) -> str:
  return "; ".join(_label(r) for r in runs)


def _train(app, algo, agent, config, loop, env, env_name, values, num_runs, program,
           keys, description, out, root, restore, start, capacity, initial, init_dir):
  """Trains one algorithm's runs and writes its outputs; returns `(Run, results)` (or
  `(None, None)` on a process other than the first)."""
  import jax
  from softq import checkpoint, train
  from softq.logging import RunLogger
  primary = jax.process_index() == 0
  if primary:  # one process checks the folder; the others wait for it
    out = cli.writable_dir(out)
  _barrier("output folder")
  checkpointer = checkpoint.Checkpointer(os.path.join(out, "checkpoints"),
                                         FLAGS.checkpoint_every or loop.total_steps,
                                         description, FLAGS.keep)
  # Only the first process logs (and, resuming, trims metrics.csv to the checkpoint's step).
  logger = RunLogger(out, loop.total_steps, num_runs, start if primary else 0, enabled=primary,
                     label=f"{app.name} {env_name + ' ' if app.multi_env else ''}{algo}")
  begin = time.time()
  try:
    result = train.train(agent, config, env, keys, loop, sweep=values,
                         eval_key=jax.random.key(FLAGS.seed + 1), on_chunk=logger.on_chunk,
                         checkpointer=checkpointer, restore=restore, restore_capacity=capacity,
                         initial_params=initial, program=program)
  except checkpoint.SaveError as e:  # e.g. a full disk: one line naming the intact checkpoint
    fix = "free space" if e.disk_full else "fix that"
    logger.close()  # ends the progress bar's line first
    cli.fail(f"{e}: {fix} and --resume {root}" if e.intact is not None
             else f"{e}: {fix} and run again with --overwrite")
  except checkpoint.CheckpointError as e:
    cli.fail(str(e))
  finally:
    logger.close()
    checkpointer.close()
  if jax.process_count() > 1:  # every process gathers (a collective); the first writes
    result = _gathered(result)
  if not primary:
    return None, None
  run = Run(app=app, algo=algo, agent=agent, config=config, loop=loop, env=env,
            env_name=env_name, out=out, seed=FLAGS.seed, result=result, logger=logger,
            records=result.runs, init_policy=init_dir)
  return run, write_outputs(run, start, time.time() - begin)


def _barrier(name: str) -> None:
  """Waits until every process of a multi-process job gets here (nothing in one process)."""
  import jax
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    multihost_utils.sync_global_devices(name)


def _gathered(result):
  """`result` with its parameters and evaluation as numpy arrays holding every run `[R, ...]`
  (on every process: the runs are sharded over all processes' devices)."""
  from softq import train
  seeds = result.carry.seeds
  agent = seeds.agent.replace(params=train.to_host(seeds.agent.params))
  carry = result.carry.replace(seeds=seeds.replace(agent=agent))
  return dataclasses.replace(result, carry=carry, evaluation=train.to_host(result.evaluation))


def write_outputs(run: Run, start: int, seconds: float) -> dict:
  """The policy, learning curve, report and results.json of a finished training; returns the
  results."""
  import jax
  import numpy as np

  from softq import checkpoint, plotting, policy
  result = run.result
  params = result.carry.seeds.agent.params
  hashes = checkpoint.params_sha256(params)
  returns = np.asarray(result.evaluation["returns"]).mean(axis=1)
  env_record = {"name": run.env_name, "episode_length": FLAGS.episode_length,
                "backend": FLAGS.backend}
  policy.save(run.out, run.algo, run.config, params, env_record, run.env.observation_size,
              run.env.action_size, run.records)
  labels = {}
  for record in run.records:
    labels.setdefault(_label(record, with_seed=False) or run.algo.upper(), []).append(
        record["run"])
  curves = np.stack(run.logger.eval_returns)  # [C, R]
  plotting.learning_curves(
      os.path.join(run.out, "learning_curve.png"), np.asarray(run.logger.steps),
      {label: curves[:, idx] for label, idx in labels.items()}, "evaluation return",
      f"{run.algo.upper()} on {run.env_name}")
  diverged = [{**d, **run.records[d["run"]]} for d in result.diverged]
  bad = {d["run"] for d in diverged}
  results = {
      "app": run.app.name,
      "command": _command(),
      "algo": run.algo, "env": env_record,
      "config": dataclasses.asdict(run.config), "loop": dataclasses.asdict(run.loop),
      "versions": versions(), "devices": [str(d) for d in jax.devices()],
      "init_policy": run.init_policy,
      "resumed_from_step": start or None, "wall_seconds": round(seconds, 1),
      "runs": [{**record, "final_eval_return": float(returns[record["run"]]),
                "params_sha256": hashes[record["run"]], "diverged": record["run"] in bad}
               for record in run.records],
      "diverged": diverged,
  }
  if run.app.report is not None:
    results.update(run.app.report(run) or {})
  _write_json(os.path.join(run.out, "results.json"), results)
  return results


def describe(app, algo, config, loop, sweep, env_name, abstract) -> dict:
  """What a checkpoint must match to be resumed (the step budget, and with it the replay
  buffer's length, may grow)."""
  from softq import checkpoint
  loop_fields = {k: v for k, v in dataclasses.asdict(loop).items() if k != "total_steps"}
  seeds = abstract.seeds
  return json.loads(json.dumps({
      "app": app.name, "algo": algo, "env": env_name, "backend": FLAGS.backend,
      "episode_length": FLAGS.episode_length, "seeds": FLAGS.seeds, "seed": FLAGS.seed,
      "sweep": {k: list(v) for k, v in sweep.items()}, "config": dataclasses.asdict(config),
      "loop": loop_fields,
      "shapes": {**checkpoint.shapes(seeds.agent), **checkpoint.shapes(seeds.env_state)}}))


def _description_defaults(config_class) -> dict:
  """What a checkpoint written before a field existed is taken to hold: the Config's and the
  LoopConfig's field defaults and no initial policy (`checkpoint.latest`)."""
  from softq.train.loop import LoopConfig

  def defaults(cls):
    return {f.name: f.default for f in dataclasses.fields(cls)
            if f.default is not dataclasses.MISSING}
  loop = {k: v for k, v in defaults(LoopConfig).items() if k != "total_steps"}  # as `describe`
  return json.loads(json.dumps({"config": defaults(config_class), "loop": loop,
                                "init_policy": None}))


def parse_sweep(text: str) -> dict:
  """`'alpha=0.1,0.2;tau=0.01,0.02'` -> `{'alpha': [0.1, 0.2], 'tau': [0.01, 0.02]}`."""
  sweep = {}
  for item in filter(None, text.split(";")):
    field, _, values = item.partition("=")
    try:
      parsed = [float(v) for v in values.split(",")]
    except ValueError:
      parsed = None
    if not field.strip() or parsed is None:
      cli.fail(f"--sweep {item!r} must look like FIELD=V1,V2,... with numbers")
    sweep[field.strip()] = parsed
  return sweep


def versions() -> dict:
  """Python and the versions of the packages a result depends on."""
  out = {"python": platform.python_version()}
  for name in ("softq", "jax", "jaxlib", "flax", "optax", "brax", "mujoco", "numpy"):
    try:
      out[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      out[name] = None
  return out


def _check_distributed() -> None:
  """`--distributed` needs a coordinator, a process count and an id, or a cluster that JAX
  detects by itself (SLURM, Open MPI)."""
  given = [FLAGS.coordinator is not None, FLAGS.num_processes is not None,
           FLAGS.process_id is not None]
  cluster = any(v in os.environ for v in ("SLURM_JOB_ID", "OMPI_COMM_WORLD_SIZE"))
  if all(given) or (cluster and not any(given)):
    if FLAGS.num_processes is not None and not 0 <= FLAGS.process_id < FLAGS.num_processes:
      cli.fail(f"--process_id must be in [0, {FLAGS.num_processes}), got {FLAGS.process_id}")
    return
  cli.fail("--distributed needs --coordinator HOST:PORT, --num_processes N and --process_id I "
           "(or a SLURM / Open MPI job that provides them)")


def _label(record: dict, with_seed: bool = True) -> str:
  skip = {"run", "step", "metric", "value"} | (set() if with_seed else {"seed"})
  return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                   for k, v in record.items() if k not in skip)


def _command() -> str:
  main = sys.modules.get("__main__")
  spec = getattr(main, "__spec__", None)
  module = spec.name if spec is not None else os.path.basename(sys.argv[0])
  return " ".join(["python -m", module] + sys.argv[1:])


def _non_empty(path: str) -> bool:
  return os.path.isdir(path) and bool(os.listdir(path))


def _empty(path: str) -> None:
  for name in os.listdir(path):
    full = os.path.join(path, name)
    if os.path.isdir(full) and not os.path.islink(full):
      shutil.rmtree(full)
    else:
      os.remove(full)


def _write_json(path: str, data) -> None:
  temporary = path + ".tmp"
  with open(temporary, "w") as f:
    json.dump(data, f, indent=2)
  os.replace(temporary, path)


def define_output(default: str | None) -> None:
  """`--out` and `--overwrite` for an app that does not train through `main` (studies, IRL)."""
  flags.DEFINE_string("out", default, "Output directory" + (f" (default {default})." if default
                                                            else " (required)."))
  flags.DEFINE_bool("overwrite", False, "Replace the contents of a non-empty --out.")


def output_dir() -> str:
  """`--out`, created and writable; a non-empty one is refused unless `--overwrite` (then
  emptied). Call after every other input check: it is the last step before the work."""
  out = FLAGS.out
  if not out:
    cli.fail("--out DIR is required")
  if _non_empty(out):
    if not FLAGS.overwrite:
      cli.fail(f"--out {out!r} is not empty (another run's results); choose a new directory or "
               "pass --overwrite to replace it")
    _empty(out)
  return cli.writable_dir(out)


def results_core(app: str) -> dict:
  """The fields every results.json starts with: app, command, package versions, devices."""
  import jax
  return {"app": app, "command": _command(), "versions": versions(),
          "devices": [str(d) for d in jax.devices()]}
