"""One training run per workdir, with real processes: a second run fails at once, a killed run's lock is taken over.

Runs are `python -m ifan_jax.train` on fake data (tests/training/train_on_fake_data.py).
"""

import json
import logging
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
from etils import epath

from ifan_jax.training import loop

TESTS = pathlib.Path(__file__).resolve().parent
ROOT = TESTS.parents[1]
TIMEOUT_S = 300


def _start(workdir, log, *flags):
  """A training process on the tiny config; its output goes to `log` (a pipe could fill and block it)."""
  command = [
    sys.executable,
    "-m",
    "tests.training.train_on_fake_data",
    f"--config={TESTS / 'tiny_config.py'}",
    "--config.checkpoint_every_steps=2",
    "--config.eval_every_steps=100000",
    f"--workdir={workdir}",
    *flags,
  ]
  env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
  with open(log, "w") as out:
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def _saved_steps(workdir):
  return sorted(int(p.name) for p in (workdir / "checkpoints").glob("*") if p.name.isdigit())


def _wait_for_checkpoint(workdir, process):
  deadline = time.monotonic() + TIMEOUT_S
  while time.monotonic() < deadline and process.poll() is None:
    if _saved_steps(workdir):
      return
    time.sleep(0.5)
  raise AssertionError(f"no checkpoint in {workdir} (training exited with {process.poll()})")


def _logged_train_steps(workdir):
  lines = (workdir / "metrics.jsonl").read_text().splitlines(keepends=True)
  return [json.loads(line)["step"] for line in lines if line.endswith("\n") and "loss/total" in line]


@pytest.fixture
def processes():
  """The training processes a test starts; any still running at its end are killed."""
  started = []
  yield started
  for process in started:
    if process.poll() is None:
      process.kill()
      process.wait(timeout=TIMEOUT_S)


def test_a_second_run_on_a_live_workdir_fails_at_once_and_a_killed_runs_workdir_resumes(tmp_path, processes):
  workdir = tmp_path / "run"
  first = _start(workdir, tmp_path / "first.log", "--config.total_steps=100000")
  processes.append(first)
  _wait_for_checkpoint(workdir, first)
  second = _start(workdir, tmp_path / "second.log", "--config.total_steps=100000")
  processes.append(second)
  second.wait(timeout=TIMEOUT_S)  # The timeout only bounds a hang.
  output = (tmp_path / "second.log").read_text()
  assert second.returncode != 0, output[-3000:]
  assert f"LockHeld: training workdir {workdir} is in use by process {first.pid} on " in output, output[-3000:]
  assert "Resuming" not in output and "train:" not in output  # Refused before restoring or training.
  assert first.poll() is None  # Refused while the first run still holds the workdir: no wait for it.
  steps = _logged_train_steps(workdir)
  assert steps == list(range(1, len(steps) + 1))  # One writer: no step twice.

  first.send_signal(signal.SIGKILL)
  first.wait(timeout=TIMEOUT_S)
  saved = _saved_steps(workdir)[-1]
  third = _start(workdir, tmp_path / "third.log", f"--config.total_steps={saved + 1}")
  processes.append(third)
  third.wait(timeout=TIMEOUT_S)
  output = (tmp_path / "third.log").read_text()
  assert third.returncode == 0, output[-3000:]
  assert f"Taking over the lock of training workdir {workdir} from process {first.pid}" in output
  assert f"Resuming from the checkpoint at step {saved}." in output
  assert json.loads((workdir / "final_metrics.json").read_text())["step"] == saved + 1


def test_a_workdir_that_is_not_local_is_not_locked(caplog):
  with caplog.at_level(logging.WARNING), loop._workdir_lock(epath.Path("gs://bucket/run")):
    pass
  assert "gs://bucket/run is not a local path: it is not locked against a second run on it." in caplog.text
