"""launch/slurm_gpu.sbatch and launch/slurm_task.sh, run with a stand-in srun."""

import json
import pathlib
import shlex
import shutil

import pytest

SCRIPT = "launch/slurm_gpu.sbatch"
TRAIN_ARGS = (
  "--config",
  "configs/dpdd.py",
  "--workdir",
  "/shared/runs/dpdd",
  "--config.data_dir=/shared/tensorflow_datasets",
)


@pytest.fixture
def job_env(launch_env):
  """Variables of a 2-node SLURM job with 4 GPUs and 32 CPUs on each node."""
  return dict(launch_env, SLURM_JOB_ID="4242", SLURM_JOB_NUM_NODES="2", SLURM_GPUS_ON_NODE="4", SLURM_CPUS_ON_NODE="32")


def _tasks(launch_env):
  folder = pathlib.Path(launch_env["FAKE_TRAIN_RECORD_DIR"])
  records = {int(path.stem.split("_")[1]): json.loads(path.read_text()) for path in folder.glob("process_*.json")}
  return [records[i] for i in sorted(records)]


def _srun(launch_env):
  return json.loads(pathlib.Path(launch_env["FAKE_SRUN_RECORD"]).read_text())


def test_dry_run_outside_a_job_prints_the_srun_command(repo, run_script, launch_env):
  env = {k: v for k, v in launch_env.items() if k != "PYTHON"}
  result = run_script(repo / SCRIPT, "--dry-run", "--nodes", 4, "--gpus_per_node", 8, "--", *TRAIN_ARGS, env=env)
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert lines[0] == "# ifan_jax: 4 node(s) x 8 GPU(s), 32 process(es), one per gpu"
  assert shlex.split(lines[1]) == ["cd", str(repo)]
  assert shlex.split(lines[2]) == [
    "srun",
    "--nodes=4",
    "--ntasks-per-node=8",
    "--kill-on-bad-exit=1",
    "launch/slurm_task.sh",
    "--per_gpu",
    "8",
    "--",
    "python3",
    "-m",
    "ifan_jax.train",
    *TRAIN_ARGS,
  ]


def test_dry_run_per_node_with_a_port(repo, run_script):
  result = run_script(
    repo / SCRIPT, "--dry-run", "--per_node", "--nodes", 2, "--gpus_per_node", 4, "--port", 5555, "--", *TRAIN_ARGS
  )
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert lines[0] == "# ifan_jax: 2 node(s) x 4 GPU(s), 2 process(es), one per node"
  assert lines[2] == "export JAX_COORDINATOR_PORT=5555"
  assert shlex.split(lines[3])[:7] == [
    "srun",
    "--nodes=2",
    "--ntasks-per-node=1",
    "--kill-on-bad-exit=1",
    "launch/slurm_task.sh",
    "--per_node",
    "4",
  ]


def test_one_process_per_gpu_drives_gpu_local_id(repo, run_script, job_env):
  result = run_script(repo / SCRIPT, "--", *TRAIN_ARGS, env=job_env)
  assert result.returncode == 0, result.stderr
  assert _srun(job_env)["options"] == ["--nodes=2", "--ntasks-per-node=4", "--kill-on-bad-exit=1", "--cpus-per-task=8"]
  tasks = _tasks(job_env)
  assert len(tasks) == 8
  for rank, task in enumerate(tasks):
    assert task["argv"] == ["-m", "ifan_jax.train", *TRAIN_ARGS]
    assert task["cwd"] == str(repo)
    assert task["env"]["SLURM_PROCID"] == str(rank)
    assert task["env"]["JAX_LOCAL_DEVICE_IDS"] == str(rank % 4)


def test_a_task_bound_to_one_gpu_drives_gpu_zero(repo, run_script, job_env):
  env = dict(job_env, FAKE_SRUN_BIND_GPUS="1")
  result = run_script(repo / SCRIPT, "--", *TRAIN_ARGS, env=env)
  assert result.returncode == 0, result.stderr
  tasks = _tasks(env)
  assert [t["env"]["CUDA_VISIBLE_DEVICES"] for t in tasks[:4]] == ["0", "1", "2", "3"]
  assert {t["env"]["JAX_LOCAL_DEVICE_IDS"] for t in tasks} == {"0"}


def test_one_process_per_node_drives_every_gpu(repo, run_script, job_env):
  result = run_script(repo / SCRIPT, "--per_node", "--port", 6001, "--", *TRAIN_ARGS, env=job_env)
  assert result.returncode == 0, result.stderr
  assert "--ntasks-per-node=1" in _srun(job_env)["options"]
  assert "--cpus-per-task=32" in _srun(job_env)["options"]
  tasks = _tasks(job_env)
  assert len(tasks) == 2
  assert {t["env"]["JAX_LOCAL_DEVICE_IDS"] for t in tasks} == {"0,1,2,3"}
  assert {t["env"]["JAX_COORDINATOR_PORT"] for t in tasks} == {"6001"}


def test_per_node_counts_the_visible_gpus(repo, run_script, job_env):
  env = dict(job_env, CUDA_VISIBLE_DEVICES="4,5")
  del env["SLURM_GPUS_ON_NODE"]
  result = run_script(repo / SCRIPT, "--per_node", "--", *TRAIN_ARGS, env=env)
  assert result.returncode == 0, result.stderr
  assert {t["env"]["JAX_LOCAL_DEVICE_IDS"] for t in _tasks(env)} == {"0,1"}


def test_a_failing_task_fails_the_job(repo, run_script, job_env):
  env = dict(job_env, FAKE_TRAIN_MODE="fail_first", SLURM_JOB_NUM_NODES="1", SLURM_GPUS_ON_NODE="1")
  result = run_script(repo / SCRIPT, "--", *TRAIN_ARGS, env=env)
  assert result.returncode == 3


def test_runs_from_slurms_copy_of_the_script(repo, run_script, job_env, tmp_path):
  spool = tmp_path / "spool"
  spool.mkdir()
  shutil.copy(repo / SCRIPT, spool / "slurm_script")
  result = run_script(spool / "slurm_script", "--", *TRAIN_ARGS, env=job_env, cwd=repo)
  assert result.returncode == 0, result.stderr
  assert len(_tasks(job_env)) == 8
  elsewhere = run_script(spool / "slurm_script", "--", *TRAIN_ARGS, env=job_env, cwd=tmp_path)
  assert elsewhere.returncode == 2
  assert f"{tmp_path} is not the ifan_jax repository" in elsewhere.stderr


@pytest.mark.parametrize(
  "args, message",
  [
    (("--", *TRAIN_ARGS), "not inside a SLURM job: submit with sbatch, or use --dry-run"),
    (("--dry-run", "--gpus_per_node", "8", "--", *TRAIN_ARGS), "not inside a SLURM job: pass --nodes"),
    (("--dry-run", "--nodes", "2", "--", *TRAIN_ARGS), "cannot tell how many GPUs a node has"),
    (("--dry-run", "--nodes", "0", "--gpus_per_node", "8", "--", "x"), "--nodes must be a positive integer"),
    (("--dry-run", "--nodes", "1", "--gpus_per_node", "8"), "no training arguments after --"),
  ],
)
def test_bad_arguments_are_errors(repo, run_script, args, message):
  result = run_script(repo / SCRIPT, *args)
  assert result.returncode == 2
  assert message in result.stderr


def test_task_refuses_a_local_id_beyond_the_visible_gpus(repo, run_script, launch_env):
  env = dict(launch_env, SLURM_LOCALID="3", CUDA_VISIBLE_DEVICES="0,1")
  result = run_script(repo / "launch/slurm_task.sh", "--per_gpu", 4, "--", "true", env=env)
  assert result.returncode == 2
  assert "task 3 of its node sees only 2 GPUs (CUDA_VISIBLE_DEVICES=0,1)" in result.stderr
