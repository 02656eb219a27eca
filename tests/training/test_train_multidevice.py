"""Data parallelism end to end in separate processes: 4 devices and 2 processes x 2 devices vs 1 device.

Also: two processes resume together, and fall back together when one's pipeline file is lost.

Each run is `python -m ifan_jax.train` on fake data (tests/training/train_on_fake_data.py)
with the tiny config; the parameters of the step-2 checkpoints are compared. The two
processes are started by launch/local_multiprocess.sh, with a stand-in `python` that
swaps the training module for the fake-data one.
"""

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import orbax.checkpoint as ocp

TESTS = pathlib.Path(__file__).resolve().parent
ROOT = TESTS.parents[1]
TRAIN_ARGS = [
  f"--config={TESTS / 'tiny_config.py'}",
  "--config.total_steps=2",
  "--config.eval_every_steps=100",
  "--config.checkpoint_every_steps=100",
]
FAKE_TRAIN = [sys.executable, "-m", "tests.training.train_on_fake_data"]
TIMEOUT_S = 600


def _env(devices):
  env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
  env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}"
  return env


def _start_single(workdir, devices):
  return subprocess.Popen(
    FAKE_TRAIN + TRAIN_ARGS + [f"--workdir={workdir}"],
    env=_env(devices),
    cwd=ROOT,
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
    text=True,
  )


def _stand_in_python(folder):
  """A `python` that runs `-m ifan_jax.train ARGS` as `-m tests.training.train_on_fake_data ARGS`."""
  path = folder / "python"
  path.write_text(f"""#!/bin/sh
if [ "$1" = -m ] && [ "$2" = ifan_jax.train ]; then
  shift 2
  exec {" ".join(FAKE_TRAIN)} "$@"
fi
exec {sys.executable} "$@"
""")
  path.chmod(0o755)
  return path


def _finish(process, log_dir=None):
  output, _ = process.communicate(timeout=TIMEOUT_S)
  if log_dir is not None:
    output += "".join(path.read_text()[-3000:] for path in sorted(log_dir.glob("*.log")))
  assert process.returncode == 0, output[-6000:]


def _params_at_step_2(workdir):
  manager = ocp.CheckpointManager(workdir / "checkpoints")
  assert manager.all_steps() == [2]
  return manager.restore(2, args=ocp.args.Composite(params=ocp.args.StandardRestore())).params


def _assert_close(a, b):
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=0, atol=1e-5), a, b)
  assert sum(np.abs(x).sum() for x in jax.tree.leaves(a)) > 0


def _start_two_processes(tmp_path, log_dir, *args):
  """Two processes of 2 devices each, started by launch/local_multiprocess.sh."""
  env = dict(_env(1), PYTHON=str(_stand_in_python(tmp_path)))
  return subprocess.Popen(
    [
      "bash",
      str(ROOT / "launch" / "local_multiprocess.sh"),
      "--num_processes",
      "2",
      "--devices_per_process",
      "2",
      "--log_dir",
      str(log_dir),
      "--",
    ]
    + TRAIN_ARGS
    + list(args),
    env=env,
    cwd=ROOT,
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
    text=True,
  )


def test_pmap_over_4_devices_and_2_processes_match_1_device(tmp_path):
  runs = {name: tmp_path / name for name in ("one_device", "four_devices", "two_processes")}
  single = [_start_single(runs["one_device"], 1), _start_single(runs["four_devices"], 4)]
  multi = _start_two_processes(tmp_path, tmp_path / "logs", f"--workdir={runs['two_processes']}")
  for process in single:
    _finish(process)
  _finish(multi, tmp_path / "logs")
  assert "Joining 2 processes at localhost:" in (tmp_path / "logs" / "process_1.log").read_text()

  one_device = _params_at_step_2(runs["one_device"])
  _assert_close(_params_at_step_2(runs["four_devices"]), one_device)
  _assert_close(_params_at_step_2(runs["two_processes"]), one_device)
  # Each process saved its own input-pipeline state.
  pipeline = runs["two_processes"] / "checkpoints" / "2" / "pipeline"
  assert sorted(p.name for p in pipeline.glob("process_*.json")) == ["process_0.json", "process_1.json"]
  # Only process 0 writes the logs: each step once in metrics.jsonl, one TensorBoard writer (its file names
  # carry the host and process id), one final_metrics.json.
  workdir = runs["two_processes"]
  rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert [row["step"] for row in rows if "loss/total" in row] == [1, 2]
  assert len(list((workdir / "tensorboard").glob("events.out.tfevents.*"))) == 1
  assert json.loads((workdir / "final_metrics.json").read_text())["step"] == 2


def _log(log_dir, index):
  return (log_dir / f"process_{index}.log").read_text()


def test_two_processes_resume_and_fall_back_together_when_one_lacks_its_pipeline_file(tmp_path):
  """Each process reads its own pipeline file; they agree on the step before reading the shared arrays."""
  workdir = tmp_path / "run"
  logs = [tmp_path / f"logs_{start}" for start in range(3)]
  _finish(_start_two_processes(tmp_path, logs[0], f"--workdir={workdir}"), logs[0])
  _finish(_start_two_processes(tmp_path, logs[1], f"--workdir={workdir}", "--config.total_steps=3"), logs[1])
  assert all("Resuming from the checkpoint at step 2." in _log(logs[1], i) for i in range(2))

  (workdir / "checkpoints" / "3" / "pipeline" / "process_1.json").unlink()
  _finish(_start_two_processes(tmp_path, logs[2], f"--workdir={workdir}", "--config.total_steps=4"), logs[2])
  assert all("Resuming from the checkpoint at step 2." in _log(logs[2], i) for i in range(2))
  assert "process_1.json is missing (the folder holds process_0.json): the file was lost." in _log(logs[2], 1)
  assert ocp.CheckpointManager(workdir / "checkpoints").all_steps() == [2, 4]
  assert len(list((workdir / "checkpoints").glob("3.damaged-*"))) == 1


def test_two_processes_stopped_by_sigterm_exit_0_at_one_step_and_resume_from_it(tmp_path):
  """SIGTERM to the launcher reaches both processes; they agree on a step, save it, exit 0, and resume there."""
  workdir = tmp_path / "run"
  logs = [tmp_path / "logs_0", tmp_path / "logs_1"]
  run = ["--config.total_steps=100000", "--config.checkpoint_every_steps=2", "--config.log_every_steps=1"]
  launcher = _start_two_processes(tmp_path, logs[0], f"--workdir={workdir}", *run)
  deadline = time.monotonic() + TIMEOUT_S  # only bounds a hang
  while not (workdir / "checkpoints" / "2").is_dir():  # inside the loop, where SIGTERM asks for a save
    assert launcher.poll() is None and time.monotonic() < deadline, launcher.communicate()[0][-6000:]
    time.sleep(0.1)
  launcher.send_signal(signal.SIGTERM)
  _finish(launcher, logs[0])
  stopped = {re.search(r"Stopped by SIGTERM after step (\d+)", _log(logs[0], i)).group(1) for i in range(2)}
  assert len(stopped) == 1, stopped  # the same step in both
  step = int(stopped.pop())
  assert step in ocp.CheckpointManager(workdir / "checkpoints").all_steps()
  assert not (workdir / "final_metrics.json").exists()

  _finish(_start_two_processes(tmp_path, logs[1], f"--workdir={workdir}", f"--config.total_steps={step + 1}"), logs[1])
  assert all(f"Resuming from the checkpoint at step {step}." in _log(logs[1], i) for i in range(2))
  assert json.loads((workdir / "final_metrics.json").read_text())["step"] == step + 1
