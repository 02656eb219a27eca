#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Runs N training processes on this machine, each with D CPU devices, joined by
# jax.distributed: the multi-host code path of a TPU pod or a GPU cluster, without one.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: launch/local_multiprocess.sh [--dry-run] [--num_processes N] [--devices_per_process D]
                                    [--port P] [--log_dir DIR] -- TRAIN_ARGS...

Starts N processes of `python -m ifan_jax.train TRAIN_ARGS...` on localhost. Process I
runs on D CPU devices (JAX_PLATFORMS=cpu, XLA_FLAGS=--xla_force_host_platform_device_count=D)
and gets --coordinator_address localhost:P --num_processes N --process_id I, so the job
sees N*D devices in N processes, as a multi-host run does.

Options:
  --num_processes N        processes to start (default 2)
  --devices_per_process D  CPU devices per process (default 2)
  --port P                 coordinator port on localhost (default: a free port)
  --log_dir DIR            write process I's output to DIR/process_I.log
                           (default: every process writes to this terminal)
  --dry-run                print the commands instead of running them
  -h, --help               show this help

Environment:
  PYTHON                   interpreter that runs the training (default python3)

Ctrl-C or SIGTERM is passed on to every process as SIGTERM (training saves a checkpoint
and exits). If one process fails, the others are stopped the same way and the script
exits with the failed process's status. Needs bash >= 5.1.

Example:
  launch/local_multiprocess.sh --num_processes 2 --devices_per_process 2 -- \
    --config configs/synthetic.py --workdir /tmp/ifan_2proc --config.total_steps=20
EOF
}

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

num_processes=2
devices_per_process=2
port=""
log_dir=""
DRY_RUN=0
while (($# > 0)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --num_processes) require_value "$1" $#; num_processes=$2; shift 2 ;;
    --devices_per_process) require_value "$1" $#; devices_per_process=$2; shift 2 ;;
    --port) require_value "$1" $#; port=$2; shift 2 ;;
    --log_dir) require_value "$1" $#; log_dir=$2; shift 2 ;;
    --) shift; break ;;
    *) die "unknown option '$1' (training arguments go after --; see --help)" ;;
  esac
done
train_args=("$@")
require_positive_int --num_processes "$num_processes"
require_positive_int --devices_per_process "$devices_per_process"
((${#train_args[@]} > 0)) || die "no training arguments after -- (at least --config and --workdir)"
python=${PYTHON:-python3}
if [[ -z $port ]]; then
  port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("localhost", 0)); print(s.getsockname()[1])')
fi
if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
  die "--port must be in 1..65535, got '$port'"
fi
if ((DRY_RUN == 0)) && ((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] < 501)); then
  die "needs bash >= 5.1 (wait -p), this is $BASH_VERSION"
fi

xla_flags="${XLA_FLAGS:+$XLA_FLAGS }--xla_force_host_platform_device_count=$devices_per_process"

# Process index of each running process, by pid.
declare -A running=()
stop_all() {
  kill -TERM "${!running[@]}" 2>/dev/null || true
}
trap stop_all INT TERM
[[ -z $log_dir ]] || run mkdir -p "$log_dir"
for ((i = 0; i < num_processes; i++)); do
  command=(env "XLA_FLAGS=$xla_flags" JAX_PLATFORMS=cpu "$python" -m ifan_jax.train "${train_args[@]}"
    --coordinator_address "localhost:$port" --num_processes "$num_processes" --process_id "$i")
  log=${log_dir:+$log_dir/process_$i.log}
  if ((DRY_RUN)); then
    echo "$(shell_quote "${command[@]}")${log:+ >$(shell_quote "$log") 2>&1} &"
  elif [[ -n $log ]]; then
    "${command[@]}" >"$log" 2>&1 &
    running[$!]=$i
  else
    "${command[@]}" &
    running[$!]=$i
  fi
done
if ((DRY_RUN)); then
  echo wait
  exit 0
fi

status=0
while ((${#running[@]} > 0)); do
  finished=""
  rc=0
  wait -n -p finished "${!running[@]}" || rc=$?
  [[ -n ${finished:-} ]] || continue  # a signal interrupted the wait; stop_all has run
  index=${running[$finished]}
  unset "running[$finished]"
  if ((rc != 0 && status == 0)); then
    status=$rc
    echo "$(basename "$0"): process $index exited with status $rc; stopping the others" >&2
    stop_all
  fi
done
exit "$status"
