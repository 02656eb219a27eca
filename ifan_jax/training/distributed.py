"""Joining a multi-process (multi-host) JAX run before any device is touched.

Order of precedence: explicit coordinator flags; else a detected SLURM step with
several tasks or a Cloud TPU VM (`jax.distributed.initialize()` reads their
environment); else a single process and no initialisation at all.
"""

import os
from pathlib import Path

import jax
from absl import logging


def _slurm_tasks() -> int:
  names = ("SLURM_JOB_ID", "SLURM_STEP_NODELIST", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID")
  if not all(name in os.environ for name in names):
    return 0
  return int(os.environ["SLURM_NTASKS"])


def _on_cloud_tpu_vm() -> bool:
  # TPU VMs expose the chips as /dev/accel* (v2-v4) or /dev/vfio/* (v5 and later); GKE
  # TPU pods list their workers in TPU_WORKER_HOSTNAMES.
  return (
    "TPU_WORKER_HOSTNAMES" in os.environ
    or Path("/dev/accel0").exists()
    or (Path("/dev/vfio").is_dir() and "TPU_ACCELERATOR_TYPE" in os.environ)
  )


def detect_cluster() -> str | None:
  """ "slurm" or "tpu" when the environment describes a multi-process run, else None."""
  if _slurm_tasks() > 1:
    return "slurm"
  if _on_cloud_tpu_vm():
    return "tpu"
  return None


def initialize(
  coordinator_address: str | None = None, num_processes: int | None = None, process_id: int | None = None
) -> None:
  """Calls `jax.distributed.initialize` when this run spans several processes; no-op otherwise."""
  explicit = {"coordinator_address": coordinator_address, "num_processes": num_processes, "process_id": process_id}
  given = {name: value for name, value in explicit.items() if value is not None}
  if given:
    missing = sorted(set(explicit) - set(given))
    if missing:
      raise ValueError(
        f"Multi-process training needs all of --coordinator_address, --num_processes "
        f"and --process_id; missing {', '.join('--' + m for m in missing)}."
      )
    if not 0 <= process_id < num_processes:
      raise ValueError(f"--process_id={process_id} must be in [0, --num_processes={num_processes}).")
    logging.info("Joining %d processes at %s as process %d.", num_processes, coordinator_address, process_id)
    jax.distributed.initialize(coordinator_address, num_processes, process_id)
    return
  cluster = detect_cluster()
  if cluster is not None:
    logging.info("Detected a %s cluster; jax.distributed.initialize() reads its environment.", cluster)
    jax.distributed.initialize()
