"""Every `python -m` entry point defines its absl flags only when it runs, so the library fits inside other
absl programs, and each command's --help still lists its flags."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENTRY_POINTS = {
  "ifan_jax.train": ("--config", "--workdir", "--coordinator_address", "--num_processes", "--process_id"),
  "ifan_jax.eval": (
    "--checkpoint",
    "--dataset",
    "--split",
    "--data_dir",
    "--out",
    "--limit",
    "--figures",
    "--save_outputs",
    "--max_pixels",
  ),
  "ifan_jax.deblur": ("--checkpoint", "--out", "--tile", "--overlap", "--left", "--right", "--max_pixels"),
  "ifan_jax.convert": ("--filter_size", "--reblur_filter_size", "--in_bit", "--overwrite"),
  "ifan_jax.data.build": (
    "--name",
    "--manual_dir",
    "--data_dir",
    "--config",
    "--allow_partial",
    "--overwrite",
    "--max_pixels",
  ),
  "ifan_jax.serve": (
    "--checkpoint",
    "--host",
    "--port",
    "--max_upload_mb",
    "--max_pixels",
    "--request_timeout",
    "--read_timeout",
    "--compiled_shapes",
    "--tile",
    "--overlap",
  ),
  "ifan_jax.export": ("--checkpoint", "--out", "--format", "--dtype", "--platforms", "--overwrite"),
}
# A program of someone else's with flags named like ours, importing all of ifan_jax's entry points.
HOST_PROGRAM = """
from absl import app, flags

flags.DEFINE_bool("overwrite", False, "host flag")
flags.DEFINE_integer("filter_size", 0, "host flag")
flags.DEFINE_integer("in_bit", 0, "host flag")
flags.DEFINE_integer("port", 0, "host flag")
for name in ("checkpoint", "config", "data_dir", "workdir", "out", "format"):
  flags.DEFINE_string(name, None, "host flag")

import ifan_jax, ifan_jax.eval, ifan_jax.deblur, ifan_jax.convert, ifan_jax.train, ifan_jax.data.build
import ifan_jax.serve, ifan_jax.export
from ifan_jax import Deblurrer


def main(argv):
  owners = sorted(m for m in flags.FLAGS.flags_by_module_dict() if "ifan_jax" in m)
  f = flags.FLAGS
  print("ifan_jax modules defining flags:", owners)
  print("host flags:", f.overwrite, f.filter_size, f.in_bit, f.checkpoint, f.config, f.data_dir, f.workdir,
        argv[1:], Deblurrer.__name__)


app.run(main)
"""


def _python(args, cwd):
  env = dict(os.environ, PYTHONPATH=ROOT)
  return subprocess.run(
    [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
  )


def test_a_program_with_the_same_flag_names_imports_every_entry_point(tmp_path):
  (tmp_path / "host.py").write_text(HOST_PROGRAM)
  proc = _python(
    [
      "host.py",
      "--overwrite",
      "--filter_size=7",
      "--in_bit=12",
      "--checkpoint=c",
      "--config=g",
      "--data_dir=d",
      "--workdir=w",
      "extra",
    ],
    cwd=tmp_path,
  )
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "ifan_jax modules defining flags: []" in proc.stdout
  assert "host flags: True 7 12 c g d w ['extra'] Deblurrer" in proc.stdout


@pytest.mark.parametrize("module", sorted(ENTRY_POINTS))
def test_each_command_help_lists_its_flags(module, tmp_path):
  proc = _python(["-m", module, "--help"], cwd=tmp_path)
  assert "Try --helpfull" in proc.stdout, proc.stderr[-3000:]  # absl's help exits with status 1.
  # Boolean flags are listed as --[no]name.
  missing = [flag for flag in ENTRY_POINTS[module] if not re.search(rf"--(\[no\])?{flag[2:]}:", proc.stdout)]
  assert not missing, f"{module} --help lacks {missing}:\n{proc.stdout}"


@pytest.mark.parametrize("relative", [False, True])
def test_build_command_writes_where_its_folders_point(tmp_path, relative):
  (tmp_path / "elsewhere").mkdir()
  data_dir = tmp_path / "tfds"
  proc = _python(
    ["-m", "ifan_jax.data.build", "synthetic_dp", "--config=tiny", f"--data_dir={'../tfds' if relative else data_dir}"],
    cwd=tmp_path / "elsewhere",
  )
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert (data_dir / "synthetic_dp" / "tiny").is_dir() and os.listdir(tmp_path / "elsewhere") == []
