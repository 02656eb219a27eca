#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Runs inside one SLURM task (started by srun from launch/slurm_gpu.sbatch): tells JAX
# which of the node's GPUs this process drives, then runs the given command.
#
# jax.distributed.initialize() reads SLURM's variables for the coordinator, the process
# count and the process id, and drives GPU number SLURM_LOCALID of those it can see. That
# is right for one process per GPU when every task sees all GPUs of its node, and wrong
# when SLURM binds one GPU to each task (the only visible GPU is then number 0) or when one
# process drives the whole node. JAX_LOCAL_DEVICE_IDS overrides the choice in both cases.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: launch/slurm_task.sh --per_gpu|--per_node GPUS_PER_NODE -- COMMAND...

Internal helper of launch/slurm_gpu.sbatch, run by srun in every task. Sets
JAX_LOCAL_DEVICE_IDS from SLURM_LOCALID and CUDA_VISIBLE_DEVICES, then runs COMMAND.
  --per_gpu   this task drives one GPU: number SLURM_LOCALID of the node's GPUS_PER_NODE,
              or number 0 when SLURM made only one GPU visible to the task
  --per_node  this task drives every visible GPU (GPUS_PER_NODE when CUDA_VISIBLE_DEVICES
              is unset)
EOF
}

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case ${1:-} in
  -h | --help) usage; exit 0 ;;
  --per_gpu | --per_node) mode=${1#--} ;;
  *) die "first argument must be --per_gpu or --per_node, got '${1:-}' (see --help)" ;;
esac
if (($# < 4)) || [[ $3 != -- ]]; then
  die "usage: $(basename "$0") $1 GPUS_PER_NODE -- COMMAND..."
fi
require_positive_int GPUS_PER_NODE "$2"
gpus_per_node=$2
shift 3

visible_count=$gpus_per_node
if [[ -n ${CUDA_VISIBLE_DEVICES:-} ]]; then
  IFS=, read -r -a visible <<<"$CUDA_VISIBLE_DEVICES"
  visible_count=${#visible[@]}
fi
if [[ $mode == per_node ]]; then
  ids=$(seq -s, 0 $((visible_count - 1)))
elif ((visible_count == 1)); then
  ids=0
else
  local_id=${SLURM_LOCALID:?SLURM_LOCALID is not set: run this under srun}
  ((local_id < visible_count)) ||
    die "task $local_id of its node sees only $visible_count GPUs (CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-unset})"
  ids=$local_id
fi
export JAX_LOCAL_DEVICE_IDS=$ids
exec "$@"
