"""Each benchmarks/ script and docs/make_readme_figure.py run at tiny sizes, as the README runs them (from a
folder of one's own, relative paths), printing the figures they promise. Speed is what they measure, not
what these tests check; benchmarks.gpu_suite has its own test, benchmarks.official and serve_limits need
the official code or minutes."""

import os
import subprocess
import sys

import pytest
from PIL import Image

from ifan_jax.data import pipeline
from ifan_jax.saved_models import model_dir
from tests.conftest import REPO, TINY_CONFIG, xavier_params

TINY_TRAIN_CONFIG = str(REPO / "tests" / "training" / "tiny_config.py")
# name: (the command before the arguments, tiny arguments, a line of what it prints)
SCRIPTS = {
  "inference": (["-m", "benchmarks.inference"], ["--size=64x96", "--repeats=1", "--checkpoint=tiny"], "s/image"),
  "eval": (
    ["-m", "benchmarks.eval"],
    ["--checkpoint=tiny", "--height=64", "--width=96", "--images=1", "--tile=32", "--overlap=8"],
    "tiled (12 tiles of 32, overlap 8)",
  ),
  "export": (
    [str(REPO / "benchmarks" / "export.py")],
    ["--model=tiny", "--sizes=64x96", "--formats=jax"],
    "64x96: max |result - Deblurrer| 0.00e+00, disparity 0.00e+00",
  ),
  "serve": ([str(REPO / "benchmarks" / "serve.py")], ["--sizes=64x96", "--repeats=1"], "64x96 (0.01 MB PNG)"),
  "train_step": (
    ["-m", "benchmarks.train_step"],
    [f"--config={TINY_TRAIN_CONFIG}", "--batch_size=2", "--crop_size=32", "--steps=1"],
    "steps/s",
  ),
  "input_pipeline": (
    ["-m", "benchmarks.input_pipeline"],
    ["--scenes=2", "--height=64", "--width=96", "--crop_size=32", "--batch_size=2", "--batches=2"],
    "in_memory=True:",
  ),
  "import_time": (["-m", "benchmarks.import_time"], ["--repeats=1"], "ifan_jax"),
}


def _run(cwd, command, args):
  env = dict(os.environ, PYTHONPATH=str(REPO))
  return subprocess.run(
    [sys.executable, *command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
  )


@pytest.fixture
def folder(tmp_path):
  """A user's folder holding `tiny`, the tests' tiny random-weight model."""
  model_dir.save_model(tmp_path / "tiny", TINY_CONFIG, xavier_params(TINY_CONFIG))
  return tmp_path


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_benchmark_script_runs_at_tiny_sizes(folder, name):
  command, args, printed = SCRIPTS[name]
  proc = _run(folder, command, args)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert printed in proc.stdout, proc.stdout[-3000:]


def test_make_readme_figure_on_a_tiny_build(folder):
  pipeline.ensure_built("synthetic_dp/tiny", str(folder / "tfds"))
  args = ["--checkpoint=tiny", "--dataset=synthetic_dp/tiny", "--data_dir=tfds", "--split=test", "--index=1"]
  proc = _run(folder, [str(REPO / "docs" / "make_readme_figure.py")], [*args, "--out=figure.png"])
  assert proc.returncode == 0, proc.stderr[-3000:]
  with Image.open(folder / "figure.png") as figure:
    assert figure.format == "PNG" and min(figure.size) > 100
