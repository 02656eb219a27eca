"""Stands in for SLURM's `srun` in the launch script tests.

Reads --nodes=N and --ntasks-per-node=T, records every option in $FAKE_SRUN_RECORD, and
runs the command N*T times one after another with the variables SLURM sets per task
(SLURM_PROCID, SLURM_LOCALID, SLURM_NODEID, SLURM_NTASKS). With FAKE_SRUN_BIND_GPUS=1 each
task sees only its own GPU, as `srun --gpus-per-task=1` does: CUDA_VISIBLE_DEVICES=<local id>.
"""

import json
import os
import subprocess
import sys


def main(argv):
  options = []
  while argv and argv[0].startswith("--"):
    options.append(argv.pop(0))
  values = dict(option[2:].split("=", 1) for option in options if "=" in option)
  nodes, tasks_per_node = int(values["nodes"]), int(values["ntasks-per-node"])
  with open(os.environ["FAKE_SRUN_RECORD"], "w") as record:
    json.dump({"options": options, "command": argv}, record)
  status = 0
  for node in range(nodes):
    for local in range(tasks_per_node):
      env = dict(
        os.environ,
        SLURM_PROCID=str(node * tasks_per_node + local),
        SLURM_LOCALID=str(local),
        SLURM_NODEID=str(node),
        SLURM_NTASKS=str(nodes * tasks_per_node),
      )
      if os.environ.get("FAKE_SRUN_BIND_GPUS") == "1":
        env["CUDA_VISIBLE_DEVICES"] = str(local)
      status = max(status, subprocess.call(argv, env=env))
  sys.exit(status)


if __name__ == "__main__":
  main(sys.argv[1:])
