"""launch/tpu_vm.sh, in a small copy of the repository, with a stand-in gcloud."""

import json
import shlex
import shutil
import subprocess
import tarfile

import pytest

TRAIN_ARGS = ("--config.batch_size=64", "--config.note=it's a test")
WHERE = ("--zone", "us-central2-b", "--project", "my-project")


@pytest.fixture
def tpu_repo(repo, tmp_path):
  """A committed repository holding the launch scripts and one config, where the package ships them."""
  copy = tmp_path / "repo"
  shutil.copytree(repo / "launch", copy / "launch")
  (copy / "ifan_jax" / "configs").mkdir(parents=True)
  (copy / "ifan_jax" / "configs" / "dpdd.py").write_text('"""A config."""\n')
  git = ["git", "-C", str(copy), "-c", "user.name=test", "-c", "user.email=test@example.com"]
  subprocess.run([*git, "init", "-q"], check=True)
  subprocess.run([*git, "add", "."], check=True)
  subprocess.run([*git, "commit", "-q", "-m", "initial"], check=True)
  return copy


def _gcloud_calls(launch_env):
  with open(launch_env["FAKE_GCLOUD_LOG"]) as log:
    return [json.loads(line) for line in log]


def _commands(dry_run_output):
  """The commands of a dry run, each as its list of words, as bash parses them (the remote
  scripts span several lines)."""
  recorder = 'printf "%s\\0" "$FUNCNAME" "$@"; printf "\\1"'
  prelude = f"gcloud() {{ {recorder}; }}; git() {{ {recorder}; }};"
  parsed = subprocess.run(["bash", "-c", prelude + dry_run_output], capture_output=True, text=True, check=True)
  return [command.split("\0")[:-1] for command in parsed.stdout.split("\1")[:-1]]


def _remote_script(words):
  """The --command=SCRIPT of a parsed `gcloud ... ssh` command."""
  (script,) = [w.removeprefix("--command=") for w in words if w.startswith("--command=")]
  assert subprocess.run(["bash", "-n", "-c", script], check=False).returncode == 0, script
  return script


def test_dry_run_up_creates_installs_and_trains_on_every_worker(tpu_repo, run_script):
  result = run_script(
    tpu_repo / "launch/tpu_vm.sh",
    "up",
    "--dry-run",
    *WHERE,
    "--accelerator_type",
    "v4-32",
    "--bucket",
    "my-bucket",
    "--dataset",
    "dpdd",
    "--",
    *TRAIN_ARGS,
  )
  assert result.returncode == 0, result.stderr
  lines = _commands(result.stdout)
  where = ["--zone=us-central2-b", "--project=my-project"]
  assert lines[0] == [
    "gcloud",
    "compute",
    "tpus",
    "tpu-vm",
    "create",
    "ifan-tpu",
    *where,
    "--accelerator-type=v4-32",
    "--version=tpu-ubuntu2204-base",
  ]
  assert lines[1][:4] == ["git", "-C", str(tpu_repo), "archive"] and lines[1][-1] == "HEAD"
  archive = lines[1][lines[1].index("-o") + 1]
  assert lines[2] == [
    "gcloud",
    "compute",
    "tpus",
    "tpu-vm",
    "scp",
    archive,
    "ifan-tpu:ifan_jax.tar.gz",
    *where,
    "--worker=all",
  ]
  setup, train = lines[3], lines[4]
  assert setup[:6] == train[:6] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "ifan-tpu"]
  assert "--worker=all" in setup and "--worker=all" in train
  assert "uv pip install --python ~/ifan_venv/bin/python 'jax[tpu]>=0.10.2' -e ~/ifan_jax" in _remote_script(setup)
  steps = _remote_script(train).splitlines()
  assert (
    steps[-2] == "gcloud storage rsync --recursive gs://my-bucket/tensorflow_datasets/dpdd ~/tensorflow_datasets/dpdd"
  )
  assert shlex.split(steps[-1]) == [
    "~/ifan_venv/bin/python",
    "-m",
    "ifan_jax.train",
    "--config",
    "configs/dpdd.py",
    "--config.data_dir=$HOME/tensorflow_datasets",
    "--workdir",
    "gs://my-bucket/runs/ifan-tpu",
    *TRAIN_ARGS,
  ]


def test_detached_training_reads_the_bucket_directly(tpu_repo, run_script):
  result = run_script(
    tpu_repo / "launch/tpu_vm.sh",
    "train",
    "--dry-run",
    "--name",
    "run-7",
    "--bucket",
    "gs://my-bucket/",
    "--no_copy_data",
    "--detach",
    "--run_name",
    "first try",
    "--",
    *TRAIN_ARGS,
  )
  assert result.returncode == 0, result.stderr
  (command,) = _commands(result.stdout)
  outer = shlex.split(_remote_script(command))
  assert outer[:3] == ["nohup", "bash", "-c"] and outer[4:] == [">~/ifan_train.log", "2>&1", "</dev/null", "&"]
  steps = outer[3].splitlines()
  assert "rsync" not in outer[3]
  assert shlex.split(steps[-1])[3:] == [
    "--config",
    "configs/dpdd.py",
    "--config.data_dir=gs://my-bucket/tensorflow_datasets",
    "--workdir",
    "gs://my-bucket/runs/first try",
    *TRAIN_ARGS,
  ]


@pytest.mark.parametrize(
  "accelerator, version",
  [
    ("v4-8", "tpu-ubuntu2204-base"),
    ("v5litepod-16", "v2-alpha-tpuv5-lite"),
    ("v5p-8", "v2-alpha-tpuv5"),
    ("v6e-8", "v2-alpha-tpuv6e"),
  ],
)
def test_software_version_follows_the_accelerator(tpu_repo, run_script, accelerator, version):
  result = run_script(tpu_repo / "launch/tpu_vm.sh", "create", "--dry-run", "--accelerator_type", accelerator, "--spot")
  assert result.returncode == 0, result.stderr
  assert result.stdout.splitlines()[1].endswith(f"--accelerator-type={accelerator} --version={version} --spot")


def test_create_reuses_an_existing_vm(tpu_repo, run_script, launch_env):
  result = run_script(tpu_repo / "launch/tpu_vm.sh", "create", *WHERE, env=dict(launch_env, FAKE_GCLOUD_EXISTS="1"))
  assert result.returncode == 0, result.stderr
  assert "TPU VM ifan-tpu exists: reusing it" in result.stderr
  assert [call[3] for call in _gcloud_calls(launch_env)] == ["describe"]


def test_create_makes_a_missing_vm(tpu_repo, run_script, launch_env):
  result = run_script(tpu_repo / "launch/tpu_vm.sh", "create", *WHERE)
  assert result.returncode == 0, result.stderr
  calls = _gcloud_calls(launch_env)
  assert [call[3] for call in calls] == ["describe", "create"]
  assert calls[1][4:] == [
    "ifan-tpu",
    "--zone=us-central2-b",
    "--project=my-project",
    "--accelerator-type=v4-8",
    "--version=tpu-ubuntu2204-base",
  ]


def test_setup_ships_the_committed_tree(tpu_repo, run_script, launch_env, tmp_path):
  (tpu_repo / "ifan_jax" / "configs" / "dpdd.py").write_text("changed but not committed\n")
  env = dict(launch_env, TMPDIR=str(tmp_path))
  result = run_script(tpu_repo / "launch/tpu_vm.sh", "setup", *WHERE, env=env)
  assert result.returncode == 0, result.stderr
  assert "uncommitted changes are not copied; the workers get HEAD" in result.stderr
  scp, ssh = _gcloud_calls(launch_env)
  assert scp[3] == "scp" and ssh[3] == "ssh"
  with tarfile.open(scp[4]) as archive:
    assert {"ifan_jax/configs/dpdd.py", "launch/tpu_vm.sh", "launch/common.sh"} <= set(archive.getnames())
    assert archive.extractfile("ifan_jax/configs/dpdd.py").read() == b'"""A config."""\n'


def test_stop_start_delete_logs_and_upload(tpu_repo, run_script, tmp_path):
  tool = tpu_repo / "launch/tpu_vm.sh"
  assert (
    run_script(tool, "delete", "--dry-run", "--name", "x1").stdout == "gcloud compute tpus tpu-vm delete x1 --quiet\n"
  )
  assert run_script(tool, "stop", "--dry-run").stdout == "gcloud compute tpus tpu-vm stop ifan-tpu\n"
  assert run_script(tool, "start", "--dry-run").stdout == "gcloud compute tpus tpu-vm start ifan-tpu\n"
  assert (
    run_script(tool, "logs", "--dry-run").stdout
    == "gcloud compute tpus tpu-vm ssh ifan-tpu --worker=0 '--command=tail -n 200 -F ~/ifan_train.log'\n"
  )
  upload = run_script(
    tool, "upload-data", "--dry-run", "--bucket", "bk1", "--local_data_dir", tmp_path, "--dataset", "dpdd"
  )
  assert upload.stdout == f"gcloud storage rsync --recursive {tmp_path}/dpdd gs://bk1/tensorflow_datasets/dpdd\n"


@pytest.mark.parametrize(
  "args, message",
  [
    (("train",), "train needs --bucket gs://BUCKET"),
    (("upload-data", "--bucket", "gs://Bad Bucket"), "--bucket must be gs://BUCKET_NAME, got 'gs://Bad Bucket'"),
    (("train", "--bucket", "bk1", "--config", "configs/nope.py"), "--config configs/nope.py is not a file of"),
    (("create", "--name", "IFAN_tpu"), "--name must be lowercase letters"),
    (("create", "--accelerator_type", "v9-8"), "no default --version for accelerator type 'v9-8'"),
    (("create", "--zone"), "--zone needs a value"),
  ],
)
def test_bad_arguments_are_errors(tpu_repo, run_script, args, message):
  result = run_script(tpu_repo / "launch/tpu_vm.sh", args[0], "--dry-run", *args[1:])
  assert result.returncode == 2
  assert message in result.stderr


def test_upload_needs_the_local_data(tpu_repo, run_script, tmp_path):
  result = run_script(
    tpu_repo / "launch/tpu_vm.sh", "upload-data", "--bucket", "bk1", "--local_data_dir", tmp_path / "none"
  )
  assert result.returncode == 2
  assert f"no TFDS data directory at {tmp_path}/none" in result.stderr
