#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Trains IFAN on a Cloud TPU VM or pod slice: creates (or reuses) it, installs the committed
# project on every worker, and starts training on all workers at once over gcloud ssh;
# jax.distributed.initialize() finds the other workers by itself on TPU.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: launch/tpu_vm.sh COMMAND [OPTIONS] [-- TRAIN_ARGS...]

Commands:
  create       create the TPU VM or pod slice, unless one of that name exists
  setup        copy the committed project (git archive HEAD) to every worker and install it
               with jax[tpu] in ~/ifan_venv (Python 3.12, through uv)
  upload-data  copy a TFDS data directory built on this machine to BUCKET/tensorflow_datasets
  train        run `python -m ifan_jax.train` on every worker at once; TRAIN_ARGS are
               passed on (for example --config.total_steps=1000)
  up           create, setup and train
  logs         follow worker 0's training log (after train --detach)
  stop, start  stop or start the VM (single-host TPU VMs only; delete pod slices)
  delete       delete the VM

Options:
  --name NAME              TPU VM name (default ifan-tpu)
  --zone ZONE              zone (default: gcloud's compute/zone setting)
  --project PROJECT        project (default: gcloud's core/project setting)
  --accelerator_type TYPE  for create: v4-8, v4-32, v5litepod-16, v5p-8, v6e-8, ... (default v4-8)
  --version VERSION        for create: TPU software version (default: by accelerator type)
  --spot                   for create: a Spot VM (cheaper, can be preempted; training saves a
                           checkpoint on SIGTERM and `train` again resumes it)
  --bucket gs://BUCKET     for train and upload-data: holds the TFDS data under
                           tensorflow_datasets/ and the run under runs/RUN_NAME
  --config PATH            for train: config file in the repository, or configs/NAME.py for one of
                           ifan_jax/configs/ (default configs/dpdd.py)
  --run_name NAME          for train: workdir BUCKET/runs/NAME (default: the VM name)
  --workdir URL            for train: the workdir itself (default from --run_name)
  --dataset NAME           copy only this TFDS dataset (for example dpdd), not the whole
                           data directory
  --local_data_dir DIR     for upload-data: TFDS data directory here (default ~/tensorflow_datasets)
  --no_copy_data           for train: read the data from the bucket instead of copying it to
                           each worker's disk first
  --detach                 for train: run in the background (nohup), logging to
                           ~/ifan_train.log on each worker; see `logs`
  --dry-run                print the commands instead of running them
  -h, --help               show this help

Example (a v4-32 pod slice: 4 workers, 16 chips):
  python -m ifan_jax.data.build dpdd --manual_dir ~/data/DPDD --data_dir ~/tensorflow_datasets
  launch/tpu_vm.sh upload-data --bucket gs://my-bucket --dataset dpdd
  launch/tpu_vm.sh up --zone us-central2-b --accelerator_type v4-32 --bucket gs://my-bucket \
    --dataset dpdd --config configs/dpdd.py --detach -- --config.batch_size=64
  launch/tpu_vm.sh logs --zone us-central2-b
  launch/tpu_vm.sh delete --zone us-central2-b
EOF
}

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The TPU software version that each generation's documentation gives for JAX.
default_version() {
  case $1 in
    v2-* | v3-* | v4-*) echo tpu-ubuntu2204-base ;;
    v5litepod-* | v5e-*) echo v2-alpha-tpuv5-lite ;;
    v5p-*) echo v2-alpha-tpuv5 ;;
    v6e-*) echo v2-alpha-tpuv6e ;;
    *) die "no default --version for accelerator type '$1': pass --version" ;;
  esac
}

(($# > 0)) || { usage >&2; exit 2; }
case $1 in
  -h | --help) usage; exit 0 ;;
  create | setup | upload-data | train | up | logs | stop | start | delete) command=$1; shift ;;
  *) die "unknown command '$1' (see --help)" ;;
esac

name=ifan-tpu
zone=""
project=""
accelerator_type=v4-8
version=""
spot=0
bucket=""
config=configs/dpdd.py
run_name=""
workdir=""
dataset=""
local_data_dir=$HOME/tensorflow_datasets
copy_data=1
detach=0
DRY_RUN=0
while (($# > 0)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --spot) spot=1; shift ;;
    --no_copy_data) copy_data=0; shift ;;
    --detach) detach=1; shift ;;
    --name) require_value "$1" $#; name=$2; shift 2 ;;
    --zone) require_value "$1" $#; zone=$2; shift 2 ;;
    --project) require_value "$1" $#; project=$2; shift 2 ;;
    --accelerator_type) require_value "$1" $#; accelerator_type=$2; shift 2 ;;
    --version) require_value "$1" $#; version=$2; shift 2 ;;
    --bucket) require_value "$1" $#; bucket=$2; shift 2 ;;
    --config) require_value "$1" $#; config=$2; shift 2 ;;
    --run_name) require_value "$1" $#; run_name=$2; shift 2 ;;
    --workdir) require_value "$1" $#; workdir=$2; shift 2 ;;
    --dataset) require_value "$1" $#; dataset=$2; shift 2 ;;
    --local_data_dir) require_value "$1" $#; local_data_dir=$2; shift 2 ;;
    --) shift; break ;;
    *) die "unknown option '$1' (training arguments go after --; see --help)" ;;
  esac
done
train_args=("$@")

[[ $name =~ ^[a-z]([-a-z0-9]*[a-z0-9])?$ ]] ||
  die "--name must be lowercase letters, digits and hyphens, starting with a letter, got '$name'"
if [[ $command == create || $command == up ]]; then
  version=${version:-$(default_version "$accelerator_type")}
fi
if [[ $command == train || $command == up || $command == upload-data ]]; then
  [[ -n $bucket ]] || die "$command needs --bucket gs://BUCKET"
  bucket=gs://${bucket#gs://}
  bucket=${bucket%/}
  [[ $bucket =~ ^gs://[a-z0-9][-_.a-z0-9]+[a-z0-9]$ ]] || die "--bucket must be gs://BUCKET_NAME, got '$bucket'"
fi
data_url=$bucket/tensorflow_datasets${dataset:+/$dataset}
if [[ $command == train || $command == up ]]; then
  # configs/NAME.py is also the config shipped in ifan_jax/configs/, as python -m ifan_jax.train reads it.
  [[ -f $repo/$config || ($config == configs/*.py && -f $repo/ifan_jax/$config) ]] ||
    die "--config $config is not a file of the repository $repo (nor a config of $repo/ifan_jax/configs)"
  workdir=${workdir:-$bucket/runs/${run_name:-$name}}
fi
if ((DRY_RUN == 0)) && ! command -v gcloud >/dev/null; then
  die "gcloud is not installed: see https://cloud.google.com/sdk/docs/install"
fi

where=()
[[ -z $zone ]] || where+=("--zone=$zone")
[[ -z $project ]] || where+=("--project=$project")

# Runs a bash script on every worker at once.
on_all_workers() {
  run gcloud compute tpus tpu-vm ssh "$name" "${where[@]}" --worker=all --command="$1"
}

create_vm() {
  local create=(gcloud compute tpus tpu-vm create "$name" "${where[@]}"
    "--accelerator-type=$accelerator_type" "--version=$version")
  ((spot == 0)) || create+=(--spot)
  if ((DRY_RUN)); then
    echo "# skipped when a TPU VM named $name exists:"
    run "${create[@]}"
  elif gcloud compute tpus tpu-vm describe "$name" "${where[@]}" >/dev/null 2>&1; then
    echo "TPU VM $name exists: reusing it" >&2
  else
    run "${create[@]}"
  fi
}

setup_workers() {
  local archive
  archive=${TMPDIR:-/tmp}/ifan_jax_$(id -u).tar.gz
  if [[ -n $(git -C "$repo" status --porcelain --untracked-files=no) ]]; then
    echo "warning: uncommitted changes are not copied; the workers get HEAD" >&2
  fi
  run git -C "$repo" archive --format=tar.gz -o "$archive" HEAD
  run gcloud compute tpus tpu-vm scp "$archive" "$name:ifan_jax.tar.gz" "${where[@]}" --worker=all
  on_all_workers "set -euo pipefail
rm -rf ~/ifan_jax && mkdir ~/ifan_jax && tar -xzf ~/ifan_jax.tar.gz -C ~/ifan_jax
python3 -m pip install --user --quiet --upgrade uv
[[ -x ~/ifan_venv/bin/python ]] || ~/.local/bin/uv venv --python 3.12 ~/ifan_venv
~/.local/bin/uv pip install --python ~/ifan_venv/bin/python 'jax[tpu]>=0.10.2' -e ~/ifan_jax
~/ifan_venv/bin/python -c 'import ifan_jax'"
}

upload_data() {
  local source=$local_data_dir${dataset:+/$dataset}
  ((DRY_RUN)) || [[ -d $source ]] || die "no TFDS data directory at $source (build it with python -m ifan_jax.data.build)"
  run gcloud storage rsync --recursive "$source" "$data_url"
}

train() {
  local script data_dir
  script="set -euo pipefail
cd ~/ifan_jax"
  if ((copy_data)); then
    # shellcheck disable=SC2016  # $HOME is the worker's
    data_dir='"$HOME/tensorflow_datasets"'
    script+="
mkdir -p ~/tensorflow_datasets${dataset:+/$dataset}
gcloud storage rsync --recursive $(shell_quote "$data_url") ~/tensorflow_datasets${dataset:+/$dataset}"
  else
    data_dir=$(shell_quote "$bucket/tensorflow_datasets")
  fi
  script+="
~/ifan_venv/bin/python -m ifan_jax.train --config $(shell_quote "$config") --config.data_dir=$data_dir \
--workdir $(shell_quote "$workdir")${train_args[*]:+ $(shell_quote "${train_args[@]}")}"
  if ((detach)); then
    script="nohup bash -c $(shell_quote "$script") >~/ifan_train.log 2>&1 </dev/null &"
  fi
  on_all_workers "$script"
}

case $command in
  create) create_vm ;;
  setup) setup_workers ;;
  upload-data) upload_data ;;
  train) train ;;
  up) create_vm; setup_workers; train ;;
  logs) run gcloud compute tpus tpu-vm ssh "$name" "${where[@]}" --worker=0 \
    --command="tail -n 200 -F ~/ifan_train.log" ;;
  stop | start) run gcloud compute tpus tpu-vm "$command" "$name" "${where[@]}" ;;
  delete) run gcloud compute tpus tpu-vm delete "$name" "${where[@]}" --quiet ;;
esac
