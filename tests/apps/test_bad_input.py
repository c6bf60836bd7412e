"""Bad input to every app and benchmark: one readable line on stderr, exit code 2, nothing written
and earlier outputs left exactly as they were.

Each row of CASES is `(module, arguments, text the one line must contain)`. `{out}` is a fresh
directory that must stay empty or absent; `{existing}` holds another run's results, which must
be untouched; `{empty}` is an empty directory; `{bad_policy}` is a run directory whose saved
policy is damaged; `{bad_net}` is a file that is not a SUMO network.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MG, TRAIN, S2 = "experiments.multigoal", "experiments.train", "experiments.s2ac_multigoal"
BENCH = "experiments.benchmark"

CASES = {
    # the multi-goal app (a launcher preset): flags, Config values, outputs, resume
    "unknown algorithm": (MG, ["--algo", "ppo"], "'ppo' is not available; accepted: sql, ddpg"),
    "non-positive alpha": (MG, ["--alpha", "0"], "--alpha must be > 0"),
    "NaN alpha": (MG, ["--alpha", "nan"], "--alpha must be a number (not nan)"),
    "infinite discount": (MG, ["--discount", "inf"], "--discount must be in [0, 1]"),
    "too few particles": (MG, ["--kernel_particles", "1"], "--kernel_particles must be >= 2"),
    "non-positive batch": (MG, ["--batch_size", "0"], "--batch_size must be > 0"),
    "negative DDPG penalty": (MG, ["--algo", "ddpg", "--preactivation_penalty", "-1"],
                              "--preactivation_penalty must be >= 0"),
    "flag of another algorithm": (MG, ["--tau", "0.5"], "--tau does not apply to sql"),
    "unknown exploration": (MG, ["--exploration", "gauss"], "--exploration must be one of ou"),
    "malformed widths": (MG, ["--critic_hidden", "a,b"], "comma-separated integers"),
    "zero width": (MG, ["--actor_hidden", "8,0"], "--actor_hidden must be a non-empty tuple"),
    "non-integer steps": (MG, ["--steps", "1e5"], "--steps must be an integer"),
    "budget shorter than warm-up": (MG, ["--steps", "2000", "--warmup", "5000"],
                                    "--steps (2000) must exceed warmup_steps"),
    "zero steps": (MG, ["--steps", "0"], "--steps must be >= 1"),
    "checkpoint period": (MG, ["--checkpoint_every", "1500"], "--checkpoint_every must be 0"),
    "unknown flag": (MG, ["--bogus", "1"], "bogus"),
    "stray positional argument": (MG, ["extra"], "unexpected argument 'extra'"),
    "unwritable output": (MG, ["--out", "/proc/softq-cannot-write"], "cannot be written"),
    "output holds another run": (MG, ["--out", "{existing}"], "is not empty"),
    "resume and overwrite": (MG, ["--resume", "{existing}", "--overwrite"], "exclude each other"),
    "resume a missing directory": (MG, ["--resume", "{out}/nothing"], "is not a directory"),
    "resume without checkpoints": (MG, ["--resume", "{empty}"], "no checkpoint directory"),
    "resume elsewhere": (MG, ["--resume", "{existing}", "--out", "{out}"],
                         "--resume continues in its own directory"),
    "malformed sweep": (MG, ["--sweep", "alpha=x"], "must look like FIELD=V1,V2"),
    "sweep of a fixed field": (MG, ["--sweep", "discount=0.9"], "cannot sweep 'discount'"),
    "sweep with NaN": (MG, ["--sweep", "alpha=1,nan"], "finite and > 0"),
    "sweeps of unequal length": (MG, ["--sweep", "alpha=1,2;critic_learning_rate=1e-3"],
                                 "the same number of values"),
    "distributed without coordinator": (MG, ["--distributed"], "--distributed needs"),
    "negative seeds": (MG, ["--seeds", "0"], "--seeds must be >= 1"),
    # the general launcher: environments, backends, loop settings
    "unknown environment": (TRAIN, ["--env", "nope"], "unknown environment 'nope'; accepted:"),
    "backend of another task": (TRAIN, ["--env", "multigoal", "--backend", "mjx"],
                                "unknown backend 'mjx' for multigoal; accepted: jax"),
    "unknown Brax backend": (TRAIN, ["--env", "hopper", "--backend", "warp"],
                             "unknown backend 'warp' for hopper"),
    "discrete agent": (TRAIN, ["--algo", "a2c"], "'a2c' is not available"),
    # budget presets
    "unknown budget preset": ("experiments.swimmer", ["--preset", "gpu"],
                              "--preset 'gpu' is not a preset; accepted: cpu, paper"),
    "swimmer on another backend": ("experiments.swimmer", ["--backend", "mjx"],
                                   "unknown backend 'mjx' for swimmer_finish; accepted: "
                                   "generalized"),
    # fine-tuning from a pre-trained policy
    "fine-tuning on another task": ("experiments.finetune", ["--env", "ant_speed"],
                                    "--env 'ant_speed' is not a fine-tuning task; accepted: "
                                    "ant_hallway_wide"),
    "fine-tuning without pre-training": ("experiments.finetune", ["--pretrained", "{empty}"],
                                         "has no sql/ folder"),
    "zero episode length": (TRAIN, ["--episode_length", "0"], "episode_length must be >= 1"),
    "zero replay": (TRAIN, ["--replay", "0"], "--replay must be >= 1"),
    "chunk not a multiple of environments": (TRAIN, ["--num_envs", "3"],
                                             "must be a multiple of num_envs"),
    "SAC eval mode": (TRAIN, ["--algo", "sac", "--eval_mode", "median"], "eval_mode must be one"),
    # the S2AC multi-goal app (several algorithms per command)
    "one unknown of several": (S2, ["--algo", "s2ac,ppo"], "ppo is not available"),
    "repeated algorithm": (S2, ["--algo", "sac,sac"], "empty or repeated"),
    "S2AC bandwidth": (S2, ["--bandwidth", "wide"], "bandwidth must be one of"),
    "S2AC negative steps": (S2, ["--num_steps", "-1"], "num_steps must be an int >= 0"),
    "S2AC test episodes": (S2, ["--episodes", "0"], "--episodes must be >= 1"),
    "S2AC sweep with zero": (S2, ["--sweep", "alpha=1,0"], "finite and > 0"),
    # the §6 apps, the studies, evaluation and benchmarks
    "pg_a2c temperature": ("experiments.pg_a2c", ["--tau", "0"], "--tau must be > 0"),
    "pg_dqn environment": ("experiments.pg_dqn", ["--env", "Pong"], "--env 'Pong' is not"),
    "pg_matched seeds": ("experiments.pg_matched", ["--seeds", "0"], "--seeds must be a positive"),
    "pg output holds another run": ("experiments.pg_a2c", ["--out", "{existing}"], "is not empty"),
    "irl too few trips": ("experiments.irl_routes", ["--trips", "1"], "trips must be"),
    "irl unknown network": ("experiments.irl_routes", ["--network", "nope"], "unknown"),
    "irl malformed network": ("experiments.irl_routes", ["--network", "{bad_net}"],
                              "corrupt: "),
    "irl test fraction": ("experiments.irl_destinations", ["--test_fraction", "2"],
                          "test_fraction must lie in (0, 1)"),
    "policy fit unknown energy": ("experiments.policy_fit", ["--energy", "ring"],
                                  "not a mixture spec; accepted: mixture:W@X,Y~S"),
    "policy fit malformed component": ("experiments.policy_fit", ["--energy", "mixture:1@0,0"],
                                       "is not W@X,Y~S"),
    "policy fit NaN temperature": ("experiments.policy_fit", ["--alpha", "1,nan"],
                                   "--alpha has 'nan'; accepted: a comma list of numbers > 0"),
    "policy fit unknown algorithm": ("experiments.policy_fit", ["--algo", "s2ac,td3"],
                                     "--algo has 'td3'; accepted"),
    "entropy study without output": ("experiments.entropy_eval", [], "--out DIR is required"),
    "entropy study particles": ("experiments.entropy_eval", ["--particles", "1"],
                                "--particles must be an integer >= 2"),
    "evaluate without a run": ("experiments.evaluate", [], "--run DIR is required"),
    "evaluate a missing policy": ("experiments.evaluate", ["--run", "{empty}"], "no saved policy"),
    "evaluate a damaged policy": ("experiments.evaluate", ["--run", "{bad_policy}"], "corrupt: "),
    "evaluate mode": ("experiments.evaluate", ["--run", "{bad_policy}", "--mode", "greedy"],
                      "--mode must be one of eval, explore"),
    # the continuous-control benchmark (several tasks and algorithms per command)
    "benchmark reference not trained": (BENCH, ["--algo", "sac,s2ac", "--reference", "ddpg"],
                                        "--reference 'ddpg' must be one of the trained"),
    "benchmark repeated task": (BENCH, ["--env", "hopper,hopper"], "empty or repeated names"),
    "benchmark unknown task": (BENCH, ["--env", "hopper,cheetah"],
                               "unknown environment 'cheetah'; accepted:"),
    "benchmark eval keys": (BENCH, ["--eval_keys", "random"], "eval_keys must be one of"),
    "benchmark one evaluation": (BENCH, ["--eval_stochastic", "false"],
                                 "--eval_stochastic false: the benchmark records both evaluations"),
    "accelerator curve algorithm": ("benchmarks.accelerator", ["--curve_algos", "ppo"],
                                    "--curve_algos ppo: empty or unknown; accepted"),
    "benchmark unknown flag": ("benchmarks.irl_scaling", ["--bogus", "1"], "bogus"),
    "benchmark unknown agent": ("benchmarks.update_step", ["--algo", "ppo"], "accepted"),
    "accelerator unknown agent": ("benchmarks.accelerator", ["--algos", "sac,ppo"],
                                  "--algos ppo: unknown; accepted"),
    "accelerator seeds": ("benchmarks.accelerator", ["--train_seeds", "8,x"], "--train_seeds"),
    "unknown paper task": ("benchmarks.accelerator", ["--paper_envs", "ant"],
                           "--paper_envs ant: unknown; accepted: swimmer_finish, ant_maze, "
                           "ant_speed"),
}
OUT_DEFAULTS = {"experiments.entropy_eval", "experiments.evaluate"}  # no --out added for these


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, tree_digest):
  """Runs every case, each in a process forked from one that has imported the third-party
  libraries (`forked_runs.py`, four at a time); returns {name: (rc, stderr, out)}."""
  base = tmp_path_factory.mktemp("bad_input")
  places = {"existing": base / "existing", "empty": base / "empty",
            "bad_policy": base / "bad_policy", "bad_net": base / "bad.net.xml"}
  places["existing"].mkdir()
  (places["existing"] / "results.json").write_text('{"another": "run"}')
  (places["existing"] / "checkpoints").mkdir()
  places["empty"].mkdir()
  (places["bad_policy"] / "policy").mkdir(parents=True)
  (places["bad_policy"] / "policy" / "policy.json").write_text("{not json")
  (places["bad_policy"] / "policy" / "params.msgpack").write_bytes(b"\x00")
  places["bad_net"].write_text('<net><edge id="a"')
  before = {k: tree_digest(v) for k, v in places.items() if v.is_dir()}
  todo, outs = [], {}
  for index, (name, (module, args, _)) in enumerate(CASES.items()):
    out = outs[name] = base / f"out{index}"
    values = {k: str(v) for k, v in places.items()} | {"out": str(out)}
    argv = [a.format(**values) for a in args]
    if module.startswith("experiments") and module not in OUT_DEFAULTS and not any(
        a in ("--out", "--resume") for a in args):
      argv += ["--out", str(out)]
    todo.append([name, module, argv, str(base / f"stderr{index}")])
  (base / "cases.json").write_text(json.dumps(todo))
  subprocess.run([sys.executable, os.path.join(HERE, "forked_runs.py"), str(base / "cases.json"),
                  str(base / "codes.json")], cwd=ROOT, check=True, timeout=900)
  codes = json.loads((base / "codes.json").read_text())
  results = {name: (codes[name], pathlib.Path(err).read_text(), outs[name])
             for name, _, _, err in todo}
  after = {k: tree_digest(v) for k, v in places.items() if v.is_dir()}
  assert after == before  # earlier outputs untouched by every case
  return results


def test_there_are_at_least_forty_kinds_of_bad_input():
  assert len(CASES) >= 40


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gives_one_line_and_exit_code_2(outcomes, name):
  rc, stderr, out = outcomes[name]
  lines = [line for line in stderr.splitlines() if line.strip()]
  assert rc == 2, stderr[-2000:]
  assert len(lines) == 1, stderr[-2000:]
  assert lines[0].startswith("error: ") and CASES[name][2] in lines[0], lines[0]
  assert not out.exists() or not any(out.iterdir())  # nothing written


@pytest.mark.parametrize("module", [MG, TRAIN, S2, "experiments.evaluate", "experiments.pg_a2c"])
def test_help_exits_0_and_lists_flags_and_names(module):
  proc = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True,
                        text=True, timeout=120)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "--" in proc.stdout and "Failed to import warp" not in proc.stdout
  if module in (MG, TRAIN, S2):
    assert "environments: multigoal" in proc.stdout and "ingolstadt21" in proc.stdout
    assert "--critic_hidden" in proc.stdout
