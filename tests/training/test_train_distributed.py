"""When and how training joins a multi-process run (jax.distributed.initialize is replaced by a recorder)."""

import jax
import pytest

from ifan_jax.training import distributed

SLURM_TWO_TASKS = {
  "SLURM_JOB_ID": "7",
  "SLURM_STEP_NODELIST": "node[1-2]",
  "SLURM_NTASKS": "2",
  "SLURM_PROCID": "1",
  "SLURM_LOCALID": "0",
}


@pytest.fixture
def calls(monkeypatch):
  recorded = []
  monkeypatch.setattr(jax.distributed, "initialize", lambda *args, **kwargs: recorded.append((args, kwargs)))
  for name in list(SLURM_TWO_TASKS) + ["TPU_WORKER_HOSTNAMES", "TPU_ACCELERATOR_TYPE"]:
    monkeypatch.delenv(name, raising=False)
  monkeypatch.setattr(distributed, "_on_cloud_tpu_vm", lambda: False)
  return recorded


def test_explicit_flags_are_passed_through(calls):
  distributed.initialize("localhost:1234", 2, 1)
  assert calls == [(("localhost:1234", 2, 1), {})]


def test_partial_explicit_flags_name_what_is_missing(calls):
  with pytest.raises(ValueError, match="missing --num_processes, --process_id"):
    distributed.initialize("localhost:1234")
  with pytest.raises(ValueError, match=r"--process_id=2 must be in \[0, --num_processes=2\)"):
    distributed.initialize("localhost:1234", 2, 2)
  assert calls == []


def test_single_process_without_cluster_does_nothing(calls):
  distributed.initialize()
  assert calls == []


def test_slurm_step_with_several_tasks_auto_detects(calls, monkeypatch):
  for name, value in SLURM_TWO_TASKS.items():
    monkeypatch.setenv(name, value)
  distributed.initialize()
  assert calls == [((), {})]


def test_slurm_single_task_stays_single_process(calls, monkeypatch):
  for name, value in (SLURM_TWO_TASKS | {"SLURM_NTASKS": "1"}).items():
    monkeypatch.setenv(name, value)
  distributed.initialize()
  assert calls == []


def test_cloud_tpu_auto_detects(calls, monkeypatch):
  monkeypatch.setattr(distributed, "_on_cloud_tpu_vm", lambda: True)
  assert distributed.detect_cluster() == "tpu"
  distributed.initialize()
  assert calls == [((), {})]
