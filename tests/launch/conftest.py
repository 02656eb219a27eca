"""Fixtures for the launch script tests: stand-ins for python, srun and gcloud on PATH."""

import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
STUBS = pathlib.Path(__file__).resolve().parent / "stubs"
# Variables of a surrounding SLURM job or GPU machine that would change what the scripts do.
_HOST_VARIABLES = ("SLURM_", "CUDA_VISIBLE_DEVICES", "XLA_FLAGS", "JAX_")


@pytest.fixture
def stub_bin(tmp_path):
  """A folder with `python`, `srun` and `gcloud` commands that run the stubs in stubs/."""
  folder = tmp_path / "bin"
  folder.mkdir()
  for name in ("python", "srun", "gcloud"):
    wrapper = folder / name
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STUBS / name}.py" "$@"\n')
    wrapper.chmod(0o755)
  return folder


@pytest.fixture
def launch_env(tmp_path, stub_bin):
  """The environment the scripts run in: the stubs first on PATH, records under tmp_path."""
  records = tmp_path / "records"
  records.mkdir()
  env = {k: v for k, v in os.environ.items() if not k.startswith(_HOST_VARIABLES)}
  env.update(
    PATH=f"{stub_bin}{os.pathsep}{env['PATH']}",
    PYTHON=str(stub_bin / "python"),
    FAKE_TRAIN_RECORD_DIR=str(records),
    FAKE_SRUN_RECORD=str(tmp_path / "srun.json"),
    FAKE_GCLOUD_LOG=str(tmp_path / "gcloud.jsonl"),
  )
  return env


@pytest.fixture
def repo():
  """The repository root, where the launch scripts run from."""
  return REPO


@pytest.fixture
def run_script(launch_env):
  """Runs a launch script with bash and returns the completed process (output as text)."""

  def run(script, *args, env=None, cwd=REPO, timeout=120):
    return subprocess.run(
      ["bash", str(script), *map(str, args)],
      env=env or launch_env,
      cwd=cwd,
      capture_output=True,
      text=True,
      timeout=timeout,
      check=False,
    )

  return run
