"""Stands in for `python` in the launch script tests.

`-c CODE` runs the real interpreter (the scripts use it to find a free port);
`-m ifan_jax.train ARGS` records its arguments and environment in
$FAKE_TRAIN_RECORD_DIR/process_<id>.json and then does what $FAKE_TRAIN_MODE says:
  record         exit 0
  fail_first     process 0 exits 3 once every process has started; the others wait for SIGTERM
  wait_for_term  every process waits for SIGTERM, then writes terminated_<id> and exits 0
  jax            join the others with jax.distributed and record what JAX sees
"""

import argparse
import json
import os
import pathlib
import signal
import sys
import time

_RECORDED_ENV = (
  "XLA_FLAGS",
  "JAX_PLATFORMS",
  "JAX_LOCAL_DEVICE_IDS",
  "JAX_COORDINATOR_PORT",
  "SLURM_PROCID",
  "SLURM_LOCALID",
  "CUDA_VISIBLE_DEVICES",
)
_WAIT_S = 60  # never hang a test run for longer


def _parse_flags(args):
  parser = argparse.ArgumentParser()
  parser.add_argument("--coordinator_address")
  parser.add_argument("--num_processes", type=int)
  parser.add_argument("--process_id", type=int)
  flags, _ = parser.parse_known_args(args)
  return flags


def _what_jax_sees(flags):
  import jax  # pylint: disable=import-outside-toplevel
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel
  from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel

  jax.distributed.initialize(
    coordinator_address=flags.coordinator_address, num_processes=flags.num_processes, process_id=flags.process_id
  )
  gathered = multihost_utils.process_allgather(jnp.array([jax.process_index() + 1]))
  seen = {
    "process_count": jax.process_count(),
    "device_count": jax.device_count(),
    "local_device_count": jax.local_device_count(),
    "platform": jax.devices()[0].platform,
    "gathered": gathered.ravel().tolist(),
  }
  jax.distributed.shutdown()
  return seen


def _wait_for(path_pattern, count, record_dir):
  deadline = time.monotonic() + _WAIT_S
  while len(list(record_dir.glob(path_pattern))) < count and time.monotonic() < deadline:
    time.sleep(0.05)


def main(argv):
  if argv[:1] == ["-c"]:
    os.execv(sys.executable, [sys.executable, *argv])
  if argv[:2] != ["-m", "ifan_jax.train"]:
    sys.exit(f"fake python: unexpected arguments {argv}")
  flags = _parse_flags(argv[2:])
  index = flags.process_id if flags.process_id is not None else int(os.environ.get("SLURM_PROCID", "0"))
  count = flags.num_processes or int(os.environ.get("SLURM_NTASKS", "1"))
  record_dir = pathlib.Path(os.environ["FAKE_TRAIN_RECORD_DIR"])
  mode = os.environ.get("FAKE_TRAIN_MODE", "record")

  def on_term(*_):
    (record_dir / f"terminated_{index}").touch()
    sys.exit(0)

  signal.signal(signal.SIGTERM, on_term)
  record = {"argv": argv, "cwd": os.getcwd(), "env": {k: os.environ.get(k) for k in _RECORDED_ENV}}
  if mode == "jax":
    record.update(_what_jax_sees(flags))
  (record_dir / f"process_{index}.json").write_text(json.dumps(record))
  print(f"process {index} of {count} started", flush=True)
  if mode == "fail_first" and index == 0:
    _wait_for("process_*.json", count, record_dir)
    sys.exit(3)
  if mode in ("fail_first", "wait_for_term"):
    time.sleep(_WAIT_S)
    sys.exit(1)


if __name__ == "__main__":
  main(sys.argv[1:])
