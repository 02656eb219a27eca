"""launch/local_multiprocess.sh: N processes on localhost with CPU devices."""

import json
import pathlib
import shlex
import signal
import subprocess
import time

import pytest

SCRIPT = "launch/local_multiprocess.sh"
TRAIN_ARGS = ("--config", "configs/synthetic.py", "--workdir", "/tmp/a run", "--config.seed=3")


def _records(launch_env):
  folder = pathlib.Path(launch_env["FAKE_TRAIN_RECORD_DIR"])
  return {int(path.stem.split("_")[1]): json.loads(path.read_text()) for path in folder.glob("process_*.json")}


def test_dry_run_prints_one_command_per_process(repo, run_script, launch_env):
  env = {k: v for k, v in launch_env.items() if k != "PYTHON"}
  result = run_script(
    repo / SCRIPT,
    "--dry-run",
    "--num_processes",
    3,
    "--devices_per_process",
    4,
    "--port",
    23456,
    "--",
    *TRAIN_ARGS,
    env=env,
  )
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert len(lines) == 4 and lines[-1] == "wait"
  for index, line in enumerate(lines[:3]):
    words = shlex.split(line)
    assert words[-1] == "&"
    assert words[:-1] == [
      "env",
      "XLA_FLAGS=--xla_force_host_platform_device_count=4",
      "JAX_PLATFORMS=cpu",
      "python3",
      "-m",
      "ifan_jax.train",
      *TRAIN_ARGS,
      "--coordinator_address",
      "localhost:23456",
      "--num_processes",
      "3",
      "--process_id",
      str(index),
    ]


def test_dry_run_keeps_xla_flags_and_names_log_files(repo, run_script, launch_env):
  env = dict(launch_env, XLA_FLAGS="--xla_cpu_enable_fast_math=false", PYTHON="python")
  result = run_script(
    repo / SCRIPT, "--dry-run", "--port", 1234, "--log_dir", "/tmp/my logs", "--", *TRAIN_ARGS, env=env
  )
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert shlex.split(lines[0]) == ["mkdir", "-p", "/tmp/my logs"]
  words = shlex.split(lines[2])
  assert words[1] == "XLA_FLAGS=--xla_cpu_enable_fast_math=false --xla_force_host_platform_device_count=2"
  assert words[3] == "python"
  assert lines[2].endswith(">'/tmp/my logs/process_1.log' 2>&1 &")


def test_runs_every_process_with_its_id_and_cpu_devices(repo, run_script, launch_env):
  result = run_script(repo / SCRIPT, "--num_processes", 3, "--devices_per_process", 2, "--", *TRAIN_ARGS)
  assert result.returncode == 0, result.stderr
  records = _records(launch_env)
  assert sorted(records) == [0, 1, 2]
  ports = set()
  for index, record in records.items():
    argv = record["argv"]
    assert argv[: 2 + len(TRAIN_ARGS)] == ["-m", "ifan_jax.train", *TRAIN_ARGS]
    assert argv[-4:] == ["--num_processes", "3", "--process_id", str(index)]
    host, port = argv[-5].split(":")
    assert host == "localhost" and 0 < int(port) < 65536
    ports.add(port)
    assert record["env"]["XLA_FLAGS"] == "--xla_force_host_platform_device_count=2"
    assert record["env"]["JAX_PLATFORMS"] == "cpu"
  assert len(ports) == 1


def test_log_dir_gets_one_file_per_process(repo, run_script, tmp_path):
  logs = tmp_path / "logs"
  result = run_script(repo / SCRIPT, "--log_dir", logs, "--port", 29999, "--", *TRAIN_ARGS)
  assert result.returncode == 0, result.stderr
  assert sorted(p.name for p in logs.iterdir()) == ["process_0.log", "process_1.log"]
  assert "process 1 of 2 started" in (logs / "process_1.log").read_text()


def test_a_failed_process_stops_the_others(repo, run_script, launch_env, tmp_path):
  env = dict(launch_env, FAKE_TRAIN_MODE="fail_first")
  result = run_script(repo / SCRIPT, "--num_processes", 3, "--", *TRAIN_ARGS, env=env)
  assert result.returncode == 3
  assert "process 0 exited with status 3; stopping the others" in result.stderr
  records = tmp_path / "records"
  assert (records / "terminated_1").exists() and (records / "terminated_2").exists()


def test_sigterm_reaches_every_process(repo, launch_env, tmp_path):
  env = dict(launch_env, FAKE_TRAIN_MODE="wait_for_term")
  launcher = subprocess.Popen(
    ["bash", str(repo / SCRIPT), "--", *TRAIN_ARGS],
    env=env,
    cwd=repo,
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
  )
  records = tmp_path / "records"
  deadline = time.monotonic() + 60
  while len(list(records.glob("process_*.json"))) < 2 and time.monotonic() < deadline:
    time.sleep(0.05)
  launcher.send_signal(signal.SIGTERM)
  _, stderr = launcher.communicate(timeout=60)
  assert launcher.returncode == 0, stderr
  assert (records / "terminated_0").exists() and (records / "terminated_1").exists()


def test_processes_join_one_jax_job(repo, run_script, launch_env):
  env = dict(launch_env, FAKE_TRAIN_MODE="jax")
  result = run_script(repo / SCRIPT, "--num_processes", 2, "--devices_per_process", 2, "--", *TRAIN_ARGS, env=env)
  assert result.returncode == 0, result.stderr
  records = _records(launch_env)
  assert sorted(records) == [0, 1]
  for record in records.values():
    assert record["platform"] == "cpu"
    assert (record["process_count"], record["device_count"], record["local_device_count"]) == (2, 4, 2)
    assert record["gathered"] == [1, 2]


@pytest.mark.parametrize(
  "args, message",
  [
    (("--num_processes", "0", "--", "--config", "x"), "--num_processes must be a positive integer, got '0'"),
    (("--devices_per_process", "two", "--", "--config", "x"), "--devices_per_process must be a positive"),
    (("--port", "70000", "--", "--config", "x"), "--port must be in 1..65535, got '70000'"),
    (("--port",), "--port needs a value"),
    (("--num_processes", "2"), "no training arguments after --"),
  ],
)
def test_bad_arguments_are_errors(repo, run_script, args, message):
  result = run_script(repo / SCRIPT, "--dry-run", *args)
  assert result.returncode == 2
  assert message in result.stderr
