"""Data parallelism end to end in separate processes: 4 devices vs 1, and 2 processes x 2 devices vs 1 x 4.

Each run is `python -m ifan_jax.train` (through tests/train_on_fake_data.py) on the tiny
config; the parameters of its step-2 checkpoint are compared.
"""

import os
import pathlib
import subprocess
import sys

import jax
import numpy as np
import orbax.checkpoint as ocp

TESTS = pathlib.Path(__file__).resolve().parent
ROOT = TESTS.parent
TRAIN = [sys.executable, str(TESTS / "train_on_fake_data.py"), f"--config={TESTS / 'tiny_config.py'}",
         "--config.total_steps=2", "--config.eval_every_steps=100", "--config.checkpoint_every_steps=100"]
TIMEOUT_S = 600


def _env(devices):
  env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
  env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}"
  return env


def _start_single(workdir, devices):
  return subprocess.Popen(TRAIN + [f"--workdir={workdir}"], env=_env(devices), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def _finish(process):
  output, _ = process.communicate(timeout=TIMEOUT_S)
  assert process.returncode == 0, output[-4000:]
  return output


def _params_at_step_2(workdir):
  manager = ocp.CheckpointManager(workdir / "checkpoints")
  assert manager.all_steps() == [2]
  return manager.restore(2, args=ocp.args.Composite(params=ocp.args.StandardRestore())).params


def _assert_close(a, b):
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=0, atol=1e-5), a, b)
  assert sum(np.abs(x).sum() for x in jax.tree.leaves(a)) > 0


def test_pmap_over_4_devices_and_2_processes_match_1_device(tmp_path):
  runs = {name: tmp_path / name for name in ("one_device", "four_devices", "two_processes")}
  single = [_start_single(runs["one_device"], 1), _start_single(runs["four_devices"], 4)]
  multi = subprocess.Popen(
      [str(ROOT / "launch" / "local_multiprocess.sh"), "-n", "2", "-d", "2", "--"] + TRAIN
      + [f"--workdir={runs['two_processes']}"],
      env=_env(1), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  for process in single:
    _finish(process)
  output = _finish(multi)
  assert "[0] " in output and "[1] " in output

  one_device = _params_at_step_2(runs["one_device"])
  _assert_close(_params_at_step_2(runs["four_devices"]), one_device)
  _assert_close(_params_at_step_2(runs["two_processes"]), one_device)
  # Each process saved its own input-pipeline state.
  pipeline = runs["two_processes"] / "checkpoints" / "2" / "pipeline"
  assert sorted(p.name for p in pipeline.glob("process_*.json")) == ["process_0.json", "process_1.json"]
