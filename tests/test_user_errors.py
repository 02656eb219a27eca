"""Each command run with a bad value says so in one line naming it and the fix: no traceback (unless asked
for with --verbosity=1 or IFAN_JAX_TRACEBACK=1), nothing lost or overwritten."""

import os
import signal
import subprocess
import sys

import pytest

from ifan_jax import commands
from tests.conftest import REPO, run_command

TINY_TRAIN_CONFIG = REPO / "tests" / "training" / "tiny_config.py"


def _one_line(proc, command, *, logged=1):
  """The command's message, checked to end stderr without a traceback, after at most `logged` lines of
  INFO logs. (Once a command has asked JAX for its devices, JAX logs that the TPU backend is absent; a
  training run logs its checkpoint folders as it opens them.)"""
  assert proc.returncode == 1, proc.stderr[-3000:]
  lines = proc.stderr.strip().splitlines()
  assert len(lines) <= logged + 1 and lines[-1].startswith(f"{command}: "), proc.stderr[-3000:]
  assert all(line.startswith("I") for line in lines[:-1]) and "Traceback" not in proc.stderr
  return lines[-1]


@pytest.mark.parametrize("relative", [False, True])
def test_export_refuses_unknown_platforms_before_touching_a_working_artifact(tiny_model_dir, tmp_path, relative):
  (tmp_path / "m.jax").write_bytes(b"a working artifact")
  out = "m.jax" if relative else tmp_path / "m.jax"
  model = os.path.relpath(tiny_model_dir, tmp_path) if relative else tiny_model_dir
  proc = run_command(
    "ifan_jax.export", ["--checkpoint", model, "--out", out, "--platforms", "cpu,bogus", "--overwrite"], cwd=tmp_path
  )
  assert _one_line(proc, "ifan_jax.export") == (
    "ifan_jax.export: --platforms cpu,bogus: 'bogus'; give one or more of cpu, cuda, rocm, tpu."
  )
  assert (tmp_path / "m.jax").read_bytes() == b"a working artifact" and sorted(os.listdir(tmp_path)) == ["m.jax"]


@pytest.mark.parametrize("command", ["ifan_jax.convert", "ifan_jax.deblur"])
def test_a_damaged_pytorch_file_gets_no_advice_to_unpickle_it(tmp_path, command):
  """torch's own message suggests weights_only=False, which would run whatever code the file holds."""
  (tmp_path / "IFAN.pytorch").write_bytes(os.urandom(300))
  (tmp_path / "photo.png").write_bytes(b"")
  args = ["IFAN.pytorch", "out"] if command == "ifan_jax.convert" else ["photo.png", "--checkpoint", "IFAN.pytorch"]
  proc = run_command(command, [*args, *(["--out", "out"] if command == "ifan_jax.deblur" else [])], cwd=tmp_path)
  line = _one_line(proc, command)
  assert f"Cannot read {tmp_path}/IFAN.pytorch as a PyTorch state dict: it holds something other than" in line
  assert "weights_only" not in line and not (tmp_path / "out").exists() or command == "ifan_jax.deblur"


@pytest.mark.parametrize(
  "override, message",
  [
    ("--config.ema_decay=nan", "config.ema_decay=nan must be a number in [0, 1)."),
    ("--config.ema_decay=1.5", "config.ema_decay=1.5 must be a number in [0, 1)."),
    ("--config.learning_rate=inf", "config.learning_rate=inf must be a number in [0, inf)."),
    ("--config.dataset=fake@0", "dataset 'fake@0': 'fake@0' is not NAME or NAME@WEIGHT with a positive weight"),
    ("--config.dataset=fake@nan", "dataset 'fake@nan': 'fake@nan' is not NAME or NAME@WEIGHT"),
    ("--config.dataset=fake,fake", "dataset 'fake,fake' names fake more than once"),
    ("--config.total_steps=0", "config.total_steps must be positive, got 0."),
    ("--config.init_from=garbage.pytorch", "Cannot read {tmp}/garbage.pytorch as a PyTorch state dict"),
  ],
)
def test_a_bad_training_config_is_one_line(tmp_path, override, message):
  (tmp_path / "garbage.pytorch").write_bytes(os.urandom(300))
  proc = run_command("ifan_jax.train", ["--config", TINY_TRAIN_CONFIG, "--workdir", "run", override], cwd=tmp_path)
  logged = 20 if "init_from" in override else 1  # init_from is read once the workdir's checkpoints are
  assert message.format(tmp=tmp_path) in _one_line(proc, "ifan_jax.train", logged=logged)


def test_training_on_a_workdir_that_is_a_file_or_with_a_batch_the_devices_cannot_split_is_one_line(tmp_path):
  (tmp_path / "run").write_text("a file")
  proc = run_command("ifan_jax.train", ["--config", TINY_TRAIN_CONFIG, "--workdir", "run"], cwd=tmp_path)
  assert f"Cannot write in {tmp_path}/run" in _one_line(proc, "ifan_jax.train")
  assert (tmp_path / "run").read_text() == "a file"
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
  args = ["--config", TINY_TRAIN_CONFIG, "--workdir", "other", "--config.batch_size=3"]
  proc = run_command("ifan_jax.train", args, cwd=tmp_path, env=env)
  assert "config.batch_size=3 (global) must be divisible by the 2 devices." in _one_line(proc, "ifan_jax.train")


@pytest.mark.parametrize("how", ["--verbosity=1", f"{commands.TRACEBACK_ENV}=1"])
def test_the_traceback_is_there_when_asked_for(tmp_path, how):
  args = ["--config", TINY_TRAIN_CONFIG, "--workdir", "run", "--config.total_steps=0"]
  env = dict(os.environ)
  if how.startswith("--"):
    args.append(how)
  else:
    env[commands.TRACEBACK_ENV] = "1"
  proc = run_command("ifan_jax.train", args, cwd=tmp_path, env=env)
  assert proc.returncode == 1 and "Traceback (most recent call last)" in proc.stderr
  assert "ifan_jax.train: config.total_steps must be positive, got 0." in proc.stderr.splitlines()


def test_ctrl_c_ends_a_command_in_one_line(tmp_path):
  """SIGINT while the build renders: `interrupted`, status 130, no KeyboardInterrupt traceback."""
  process = subprocess.Popen(
    [sys.executable, "-m", "ifan_jax.data.build", "synthetic_dp", "--config=tiny", "--data_dir=tfds"],
    cwd=tmp_path,
    env=dict(os.environ, PYTHONPATH=str(REPO)),
    stderr=subprocess.PIPE,
    text=True,
  )
  seen = []
  for line in process.stderr:  # absl logs the build's start once main runs
    seen.append(line)
    if "Building synthetic_dp" in line:
      break
  process.send_signal(signal.SIGINT)
  rest = process.stderr.read()
  assert process.wait(timeout=60) == 130, "".join(seen) + rest
  assert rest.strip().splitlines()[-1] == "ifan_jax.data.build: interrupted."
  assert "Traceback" not in rest and "KeyboardInterrupt" not in rest
