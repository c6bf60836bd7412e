"""Every benchmark side by side with the peer libraries: `results.json` and `results.md` in `--out`.

  python -m benchmarks.run [--quick] --out DIR [--install] [--only sac,seeds,svgd,update,irl]
                           [--peers_dir .venv-peers]

Each peer runs in its own virtual environment `PEERS_DIR/<name>` (pinned in
`benchmarks/peers/<name>/requirements.txt`; `--install` creates or refreshes them from the
registry), through its runner `benchmarks/peers/<name>/run.py`; softq's side runs in this
interpreter's environment (`benchmarks.side_by_side`, `benchmarks.update_step`,
`benchmarks.irl_scaling`). Every measurement is a subprocess with a timeout; a missing venv, a
failed install, a crash or a timeout becomes a row `skipped: <why>`, never an abort. Ratios
softq/peer are of figures taken in the same run. Budgets: full (default), `--quick` (about 12 min
on 2 idle cores), and `--tiny` (seconds; for the harness's own test, figures meaningless).
"""

import datetime
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import time

from absl import flags

from softq import cli

BENCHMARKS = ("sac", "seeds", "svgd", "update", "irl")
SAC_PEERS = {"brax": 1.0, "rejax": 1.2, "sbx-rl": 5.0, "stable-baselines3": 10.0}
ALGOS = ("sql", "ddpg", "sac", "s2ac")
GRID = [[m, d] for m in (10, 100, 200) for d in (2, 6, 20)]
# sac / seeds: (warm-up steps, timed steps); update: (updates per block, blocks);
# irl: (grid sides for softq, sides also run with irl-maxent); timeout: s per subprocess.
BUDGETS = {
    "full": {"sac": (5000, 20000), "seeds": (1000, 5000), "seed_counts": (1, 4, 8, 16),
             "svgd_grid": GRID, "svgd_steps": 100, "svgd_repeats": 5, "update": (50, 7),
             "irl": ("17,50,158", "12,17"), "timeout": 3600},
    "quick": {"sac": (1000, 2000), "seeds": (500, 500), "seed_counts": (1, 4, 8, 16),
              "svgd_grid": GRID, "svgd_steps": 100, "svgd_repeats": 3, "update": (20, 3),
              "irl": ("17,50", "12"), "timeout": 600},
    "tiny": {"sac": (256, 256), "seeds": (256, 256), "seed_counts": (1, 2),
             "svgd_grid": [[10, 2]], "svgd_steps": 5, "svgd_repeats": 1, "update": (2, 1),
             "irl": ("5", "4"), "timeout": 120},
}
TARGETS = {"seeds": 1.5, "svgd": 10.0, "sql_update_ms": 15.0}

flags.DEFINE_string("out", None, "Output directory for results.json and results.md.")
flags.DEFINE_bool("quick", False, "Short budget (about 12 minutes on 2 idle cores).")
flags.DEFINE_bool("tiny", False, "Seconds-long budget to test the harness; figures meaningless.")
flags.DEFINE_list("only", list(BENCHMARKS), f"Benchmarks to run, from {', '.join(BENCHMARKS)}.")
flags.DEFINE_string("peers_dir", ".venv-peers", "Folder holding one venv per peer.")
flags.DEFINE_bool("install", False, "Create / refresh the peer venvs from their requirements.")
FLAGS = flags.FLAGS
HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
  del argv
  if FLAGS.out is None:
    cli.fail("--out is required (a directory for results.json and results.md)")
  unknown = [b for b in FLAGS.only if b not in BENCHMARKS]
  if unknown or not FLAGS.only:
    cli.fail(f"--only {','.join(FLAGS.only)!r}: accepted values are {', '.join(BENCHMARKS)}")
  if FLAGS.quick and FLAGS.tiny:
    cli.fail("--quick and --tiny exclude each other")
  out = cli.writable_dir(FLAGS.out)
  budget_name = "tiny" if FLAGS.tiny else "quick" if FLAGS.quick else "full"
  runner = Runner(BUDGETS[budget_name], FLAGS.peers_dir, FLAGS.install)
  started = time.time()
  command = " ".join(["python -m benchmarks.run"] + [shlex.quote(a) for a in sys.argv[1:]])
  results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
             "command": command, "budget": budget_name, "machine": machine(), "benchmarks": {}}
  for name in FLAGS.only:
    print(f"[bench] {name} ...", file=sys.stderr, flush=True)
    results["benchmarks"][name] = getattr(runner, name)()
  results["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
  results["wall_s"] = round(time.time() - started, 1)
  results["commands"] = runner.commands
  with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f, indent=2)
  with open(os.path.join(out, "results.md"), "w") as f:
    f.write(markdown(results))
  print(markdown(results))


def machine() -> dict:
  """CPU model, cores, memory, load, and softq's jax version (peers report their own)."""
  import jax
  cpu = platform.processor() or platform.machine()
  try:
    with open("/proc/cpuinfo") as f:
      cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
  except (OSError, StopIteration):
    pass
  memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
  return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory, 1),
          "platform": platform.platform(), "python": platform.python_version(),
          "softq_jax": jax.__version__, "device": str(jax.devices()[0]),
          "load_average_before": [round(x, 2) for x in os.getloadavg()]}


class Runner:
  """Runs the measurements as subprocesses and turns every failure into a `skipped` row."""

  def __init__(self, budget: dict, peers_dir: str, install: bool):
    self.budget, self.peers_dir, self.install = budget, peers_dir, install
    self.commands, self.installed = [], {}

  def _call(self, command: list[str]):
    """(parsed JSON from stdout, None) or (None, why it failed)."""
    self.commands.append(" ".join(shlex.quote(c) for c in command))
    # Own process group, so a timeout also ends what the measurement started (peer runners).
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as process:
      try:
        text, errors = process.communicate(timeout=self.budget["timeout"])
      except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None, f"timed out after {self.budget['timeout']} s"
    if process.returncode != 0:
      last = (errors.strip().splitlines() or ["no output"])[-1]
      return None, f"exit code {process.returncode}: {last[:300]}"
    for start in [i for i, line in enumerate(text.splitlines()) if line[:1] in "[{"]:
      try:
        return json.loads("\n".join(text.splitlines()[start:])), None
      except json.JSONDecodeError:
        continue
    return None, f"no JSON on stdout: {text.strip()[-200:]!r}"

  def _ours(self, task: str, **kwargs):
    return self._call([sys.executable, "-m", "benchmarks.side_by_side", task, json.dumps(kwargs)])

  def _peer_python(self, name: str):
    """(python path, None) or (None, why the peer's venv is unusable)."""
    venv = os.path.join(self.peers_dir, name)
    python = os.path.join(venv, "bin", "python")
    requirements = os.path.join(HERE, "peers", name, "requirements.txt")
    if self.install and name not in self.installed:
      self.installed[name] = _install(venv, requirements)
    if self.installed.get(name):
      return None, self.installed[name]
    if not os.path.exists(python):
      return None, (f"no venv at {venv} (create it with: python3 -m venv {venv} && "
                    f"{venv}/bin/pip install -r {os.path.relpath(requirements)}, or --install)")
    return python, None

  def _peer(self, name: str, task: str, **kwargs):
    python, why = self._peer_python(name)
    if why:
      return None, why
    script = os.path.join(HERE, "peers", name, "run.py")
    return self._call([python, script, task, json.dumps(kwargs)])

  def sac(self) -> dict:
    """SAC end to end: env-steps/s of softq and each peer, ratios against the targets."""
    warmup, steps = self.budget["sac"]
    ours, why = self._ours("sac", warmup=warmup, steps=steps)
    rows = [_row("softq", ours, why)]
    for name, target in SAC_PEERS.items():
      kwargs = {"warmup": warmup, "steps": steps}
      peer, peer_why = self._peer(name, "sac", **kwargs)
      row = _row(name, peer, peer_why)
      _ratio(row, ours, peer, "env_steps_per_s", target)
      rows.append(row)
    return {"settings": {"env": "Pendulum-v1 (softq/Brax: softq.envs pendulum; rejax: gymnax; "
                                "sbx/sb3: gymnasium)", "warmup_steps": warmup,
                         "timed_steps": steps, "nets": "256x256", "batch": 256,
                         "updates_per_env_step": 1, "num_envs": 1, "alpha": "learned"},
            "rows": rows}

  def seeds(self) -> dict:
    """Aggregate and per-seed env-steps/s of softq and rejax with 1, 4, 8, 16 seeds vmapped."""
    warmup, steps = self.budget["seeds"]
    rows = []
    for count in self.budget["seed_counts"]:
      ours, why = self._ours("sac", warmup=warmup, steps=steps, seeds=count, phases=False)
      peer, peer_why = self._peer("rejax", "sac", warmup=warmup, steps=steps, seeds=count)
      row_ours, row_peer = _row("softq", ours, why), _row("rejax", peer, peer_why)
      _ratio(row_peer, ours, peer, "env_steps_per_s", None)
      rows += [{"seeds": count, **row_ours}, {"seeds": count, **row_peer}]
    for library in ("softq", "rejax"):
      one = next((r for r in rows if r["library"] == library and r["seeds"] == 1
                  and r["status"] == "ok"), None)
      for r in rows:
        if r["library"] == library and r["status"] == "ok" and one:
          r["vs_1_seed"] = round(r["env_steps_per_s"] / one["env_steps_per_s"], 2)
          if r["seeds"] == 8:
            r["target"] = f">= {TARGETS['seeds']}x 1 seed"
            r["met"] = r["vs_1_seed"] >= TARGETS["seeds"]
    return {"settings": {"warmup_steps": warmup, "timed_steps_per_seed": steps,
                         "seed_counts": list(self.budget["seed_counts"])}, "rows": rows}

  def svgd(self) -> dict:
    """`svgd_sample` with log-density vs the `svgd` package, per (m, d), 100 steps."""
    grid, steps = self.budget["svgd_grid"], self.budget["svgd_steps"]
    repeats = self.budget["svgd_repeats"]
    ours, why = self._ours("svgd", grid=grid, steps=steps, repeats=repeats)
    peer, peer_why = self._peer("svgd", "svgd", grid=grid, steps=steps, repeats=repeats)
    rows = []
    for i, (m, d) in enumerate(grid):
      mine = ours[i] if ours else None
      theirs = peer[i] if peer else None
      rows.append({"m": m, "d": d, **_row("softq", mine, why)})
      row = {"m": m, "d": d, **_row("svgd", theirs, peer_why)}
      if mine and theirs:
        row["ratio_softq_over_peer"] = round(theirs["ms"] / mine["ms"], 2)
        row["target"] = f">= {TARGETS['svgd']}x"
        row["met"] = row["ratio_softq_over_peer"] >= TARGETS["svgd"]
      rows.append(row)
    return {"settings": {"steps": steps, "step_size": 0.1, "bandwidth": "median heuristic",
                         "target": "N(0, I)", "initial": "N(2, I)",
                         "log_density": "leave-one-out trace (§3.3)"}, "rows": rows}

  def update(self) -> dict:
    """ms per update (benchmarks.update_step) and GFLOP/s against the measured matmul peak."""
    updates, repeats = self.budget["update"]
    peak, peak_why = self._ours("peak")
    counts, counts_why = self._ours("flops", algos=list(ALGOS))
    rows = []
    for i, algo in enumerate(ALGOS):
      timing, why = self._call([sys.executable, "-m", "benchmarks.update_step", "--algo", algo,
                                "--updates", str(updates), "--repeats", str(repeats)])
      row = _row("softq", timing and {k: timing[k] for k in (
          "ms_per_update_median", "ms_per_update_min", "compile_seconds")}, why)
      row["algo"] = algo
      if timing and counts:
        gflop = counts[i]["flops_per_update"] / 1e9
        row["gflop_per_update"] = round(gflop, 4)
        row["gflops_achieved"] = round(gflop / (timing["ms_per_update_median"] / 1e3), 2)
        if peak:
          row["fraction_of_matmul_peak"] = round(row["gflops_achieved"] / peak["matmul_gflops"], 3)
      elif counts_why:
        row["flops"] = f"skipped: {counts_why}"
      if algo == "sql" and timing:
        row["target"] = f"<= {TARGETS['sql_update_ms']} ms"
        row["met"] = timing["ms_per_update_median"] <= TARGETS["sql_update_ms"]
      rows.append(row)
    return {"settings": {"sizes": "obs 17 / action 6 (HalfCheetah)", "configs": "agent defaults "
                         "= the seed papers' settings", "updates_per_block": updates,
                         "repeats": repeats},
            "matmul_peak": peak or f"skipped: {peak_why}", "rows": rows}

  def irl(self) -> dict:
    """benchmarks.irl_scaling: ours alone, and against irl-maxent where its venv exists."""
    sides, peer_sides = self.budget["irl"]
    python, peer_why = self._peer_python("irl-maxent")
    command = [sys.executable, "-m", "benchmarks.irl_scaling", "--sides", sides,
               "--peer_sides", peer_sides if python else "", "--repeats", "3"]
    if python:
      command += ["--peer_python", python]
    result, why = self._call(command)
    rows = [{**_row("softq", r, why)} for r in (result["ours"] if result else [None])]
    for r in (result["versus_irl_maxent"] if result and python else [None]):
      row = _row("irl-maxent", r, peer_why or why)
      if r:
        row["ratio_softq_over_peer"] = round(r["speedup_equal_work"], 2)
      rows.append(row)
    return {"settings": {"horizon": 200, "graphs": "grid cities, sides " + sides}, "rows": rows}


def _install(venv: str, requirements: str):
  """Creates / refreshes `venv` from `requirements`; None, or why it failed (one line)."""
  stamp = os.path.join(venv, ".installed")
  if (os.path.exists(stamp) and os.path.getmtime(stamp) >= os.path.getmtime(requirements)):
    return None
  for command in ([sys.executable, "-m", "venv", venv],
                  [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--quiet",
                   "-r", requirements]):
    print(f"[bench] {' '.join(command)}", file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
      last = (done.stderr.strip().splitlines() or ["no output"])[-1]
      return f"install failed ({' '.join(command[:3])} ...): {last[:300]}"
  open(stamp, "w").close()
  return None


def _row(library: str, result, why) -> dict:
  """A table row: the measurement with status ok, or `skipped: <why>`."""
  if result is None:
    return {"library": library, "status": f"skipped: {why}"}
  return {"library": library, "status": "ok", **result}


def _ratio(row, ours, peer, key, target):
  """softq/peer ratio of `key` into `row`, and whether it meets `target` (None: no target)."""
  if ours and peer:
    row["ratio_softq_over_peer"] = round(ours[key] / peer[key], 2)
    if target is not None:
      row["target"] = f">= {target}x"
      row["met"] = row["ratio_softq_over_peer"] >= target


def markdown(results: dict) -> str:
  """One Markdown table per benchmark; missed targets say MISSED."""
  m = results["machine"]
  lines = [f"# softq vs peers — {results['date']} ({results['budget']} budget)", "",
           f"Command: `{results['command']}`  ", f"Machine: {m['cpu']}, {m['cores']} cores, "
           f"{m['memory_gib']} GiB, {m['device']}, softq jax {m['softq_jax']}; load average "
           f"before {m['load_average_before']}, after {m.get('load_average_after')}  ",
           f"Wall time: {results.get('wall_s')} s", ""]
  columns = {
      "sac": ("library", "env_steps_per_s", "grad_steps_per_s", "compile_s",
              "ratio_softq_over_peer", "target", "met", "status"),
      "seeds": ("seeds", "library", "env_steps_per_s", "env_steps_per_s_per_seed", "vs_1_seed",
                "ratio_softq_over_peer", "target", "met", "status"),
      "svgd": ("m", "d", "library", "ms", "ratio_softq_over_peer", "target", "met",
               "entropy_estimate", "status"),
      "update": ("algo", "ms_per_update_median", "ms_per_update_min", "gflop_per_update",
                 "gflops_achieved", "fraction_of_matmul_peak", "target", "met", "status"),
      "irl": ("library", "side", "states", "seconds_per_gradient", "irl_maxent_seconds",
              "ours_equal_work_seconds", "ratio_softq_over_peer", "irl_maxent_result_finite",
              "status"),
  }
  for name, bench in results["benchmarks"].items():
    lines += [f"## {name}", "", "Settings: " + json.dumps(bench["settings"]), ""]
    if name == "update":
      lines += [f"Matmul peak (same run): {json.dumps(bench['matmul_peak'])}", ""]
    cols = columns[name]
    lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in bench["rows"]:
      cells = []
      for c in cols:
        value = row.get(c, "")
        if c == "met" and value != "":
          value = "yes" if value else "**MISSED**"
        elif isinstance(value, float):
          value = f"{value:.4g}"
        cells.append(str(value))
      lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
  return "\n".join(lines)


if __name__ == "__main__":
  cli.run(main)
