#!/usr/bin/env bash
# Runs one training command as N processes of a single multi-process JAX run on this
# machine, each with D CPU devices: how the tests exercise multi-host code without hosts.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: launch/local_multiprocess.sh [-n PROCESSES] [-d DEVICES] [-p PORT] [--dry-run] -- COMMAND...

Starts PROCESSES (default 2) copies of COMMAND, appending to copy i
  --coordinator_address=localhost:PORT --num_processes=PROCESSES --process_id=i
with JAX_PLATFORMS=cpu and XLA_FLAGS=--xla_force_host_platform_device_count=DEVICES
(default 2). Lines from process i are prefixed with "[i] ". Exits 0 when every process
does; as soon as one fails the others are stopped and the exit status is 1.

Example:
  launch/local_multiprocess.sh -n 2 -d 2 -- python -m ifan_jax.train \
      --config configs/synthetic.py --workdir /tmp/ifan_2proc
USAGE
}

processes=2
devices=2
port=""
dry_run=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) processes="$2"; shift 2 ;;
    -d) devices="$2"; shift 2 ;;
    -p) port="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "Unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [[ $# -eq 0 ]]; then
  echo "No command given (see --help)." >&2
  exit 2
fi
if [[ -z "$port" ]]; then
  # Any port is fine as long as it is free; let the kernel pick one.
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("localhost", 0)); print(s.getsockname()[1])')"
fi

export JAX_PLATFORMS=cpu
export XLA_FLAGS="${XLA_FLAGS:-} --xla_force_host_platform_device_count=${devices}"
pids=()
for ((i = 0; i < processes; i++)); do
  args=("$@" "--coordinator_address=localhost:${port}" "--num_processes=${processes}" "--process_id=${i}")
  if [[ "$dry_run" -eq 1 ]]; then
    echo "JAX_PLATFORMS=cpu XLA_FLAGS='${XLA_FLAGS}' ${args[*]}"
    continue
  fi
  "${args[@]}" > >(sed -u "s/^/[${i}] /") 2>&1 &
  pids+=("$!")
done
trap 'kill "${pids[@]}" 2>/dev/null || true' INT TERM

status=0
for ((remaining = ${#pids[@]}; remaining > 0; remaining--)); do
  if ! wait -n; then
    status=1
    echo "A process failed; stopping the others." >&2
    kill "${pids[@]}" 2>/dev/null || true
    break
  fi
done
wait || true
exit "$status"
