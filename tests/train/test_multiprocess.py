"""Multi-process training on one machine: `experiments.train --distributed` with N processes on
127.0.0.1 (JAX's coordinator, CPU collectives over gloo), each with its own forced host devices,
ends with the same parameters (results.json `params_sha256`), evaluation returns and metrics as
ONE process with the same total number of devices and the same flags. The run axis (4 seeds) is
sharded over every process's devices; only process 0 writes results, policy and logs, and every
process takes part in the orbax checkpoint."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN = [sys.executable, "-m", "experiments.train", "--algo=sac", "--env=multigoal",
         "--seeds=4", "--steps=40", "--chunk=20", "--warmup=20", "--batch_size=8",
         "--critic_hidden=8,8", "--actor_hidden=8,8", "--eval_episodes=1"]
TIMEOUT = 300  # seconds for a whole job (compiling on 2 shared cores)


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _env(devices: int) -> dict:
  return dict(os.environ, JAX_PLATFORMS="cpu",
              XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")


def _results(out: str) -> dict:
  with open(os.path.join(out, "results.json")) as f:
    return json.load(f)


def _single(out: str, devices: int, *extra) -> dict:
  """One process with `devices` forced host devices."""
  done = subprocess.run(TRAIN + [f"--out={out}", *extra], cwd=ROOT, env=_env(devices),
                        capture_output=True, text=True, timeout=TIMEOUT)
  assert done.returncode == 0, done.stderr[-3000:]
  return _results(out)


def _distributed(out: str, processes: int, devices: int, logs, *extra) -> dict:
  """`processes` processes joined through a coordinator on a free local port, `devices` forced
  host devices each; their output goes to files (a full pipe would block a process)."""
  port = _free_port()
  jobs = []
  for i in range(processes):
    log = open(logs / f"process{i}.log", "w")
    jobs.append((log, subprocess.Popen(
        TRAIN + [f"--out={out}", *extra, "--distributed", f"--coordinator=127.0.0.1:{port}",
                 f"--num_processes={processes}", f"--process_id={i}"],
        cwd=ROOT, env=_env(devices), stdout=log, stderr=subprocess.STDOUT)))
  deadline = time.monotonic() + TIMEOUT
  try:
    codes = [job.wait(timeout=max(1.0, deadline - time.monotonic())) for _, job in jobs]
  finally:
    for log, job in jobs:
      if job.poll() is None:
        job.kill()
        job.wait()
      log.close()
  text = "\n".join(f"--- process {i}\n" + (logs / f"process{i}.log").read_text()[-2000:]
                   for i in range(processes))
  assert codes == [0] * processes, text
  return _results(out)


def _metrics(out: str) -> str:
  with open(os.path.join(out, "metrics.csv")) as f:
    return f.read()


_REFERENCE = {}


def _reference(total: int, factory) -> str:
  """The one-process run with `total` devices (shared by the cases with that total)."""
  if total not in _REFERENCE:
    out = str(factory.mktemp(f"one{total}") / "run")
    _single(out, total)
    _REFERENCE[total] = out
  return _REFERENCE[total]


def _same(many: str, one: str) -> None:
  a, b = _results(many), _results(one)
  assert len(a["devices"]) == len(b["devices"])
  assert [r["params_sha256"] for r in a["runs"]] == [r["params_sha256"] for r in b["runs"]]
  assert [r["final_eval_return"] for r in a["runs"]] == [r["final_eval_return"] for r in b["runs"]]
  assert _metrics(many) == _metrics(one)


@pytest.mark.slow
@pytest.mark.parametrize("processes,devices", [(2, 1)], ids=["2x1"])
def test_processes_equal_one_process_with_as_many_devices(processes, devices, tmp_path,
                                                          tmp_path_factory):
  """N processes x D devices equal one process with N*D devices, bit for bit: each run's shard
  runs the same compiled per-device program whether its neighbours are in the same process or
  not. Measured: identical `params_sha256` for all 4 runs, identical evaluation returns and
  metrics.csv, for 2x1 (vs 2 devices); 2x2 and 4x1 (vs 4 devices) were measured equal too and
  are left out of the suite for its time (add them to the parametrization to run them). (One process with 2 devices
  and one with 4 differ from each other by float32 rounding, see tests/train/test_scale.py, so
  the reference always has the same device count.) 2x1 is then resumed to 80 steps by 2
  processes (every process restores its shards from the orbax checkpoint) and still equals the
  one-process run resumed the same way."""
  one = _reference(processes * devices, tmp_path_factory)
  many = str(tmp_path / "many")
  _distributed(many, processes, devices, tmp_path)
  assert len(_results(many)["devices"]) == processes * devices
  _same(many, one)
  assert os.path.isfile(os.path.join(many, "policy", "params.msgpack"))
  assert sorted(os.listdir(os.path.join(many, "checkpoints"))) == ["40"]
  if (processes, devices) == (2, 1):
    resumed = _distributed(many, processes, devices, tmp_path, "--steps=80", f"--resume={many}")
    _single(one, processes * devices, "--steps=80", f"--resume={one}")
    assert resumed["resumed_from_step"] == 40
    _same(many, one)
