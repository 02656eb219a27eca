"""The official checkpoint format through every command, with real numbers: the golden `ifan_small.pytorch`
(random weights in the official format, tests/fixtures/golden) is converted by `python -m ifan_jax.convert`
and run by `deblur`, `eval`, `serve` (the API) and `export`, each a subprocess given relative paths from a
temporary folder; each result is compared with the official code's own output, `result_inference`.

The commands read a `.pytorch` `--checkpoint` with the official filter size 3; this golden model's is 5
(README of the fixtures: an odd size catches mistakes), so it goes through `convert --filter_size 5`, as the
user guide says for such files. The inputs are the golden's blurred image `C` as a 16-bit PNG: its rounding
(at most 7.6e-6) and the 16-bit output's are all that separate a PNG result from the official one.
"""

import shutil

import jax
import numpy as np
import pytest

from ifan_jax.io import images
from tests.conftest import load_npz, run_command
from tests.serving import browser as web

# Measured on CPU float32: 16-bit PNG in and out, 1.9e-5 from the official result (deblur, eval and the
# API alike); the exported model on the float input 2.4e-7, as the Deblurrer.
PNG16_TOLERANCE = 1e-4
FLOAT_TOLERANCE = 2e-6


@pytest.fixture(scope="module")
def golden(golden_dir):
  return load_npz(golden_dir / "ifan_small_io.npz")


@pytest.fixture(scope="module")
def folder(golden_dir, golden, tmp_path_factory):
  """A user's folder: the official file, converted by the command with relative paths, and the input."""
  folder = tmp_path_factory.mktemp("official")
  shutil.copy(golden_dir / "ifan_small.pytorch", folder / "ifan_small.pytorch")
  proc = run_command("ifan_jax.convert", ["ifan_small.pytorch", "model", "--filter_size=5"], cwd=folder)
  assert proc.returncode == 0, proc.stderr[-3000:]
  (folder / "photos").mkdir()
  images.write_image(folder / "photos" / "c.png", golden["C"][0], bit_depth=16)
  return folder


def _assert_official(path, golden, tolerance=PNG16_TOLERANCE):
  image = images.read_image(path)
  assert image.bit_depth == 16 and image.rgb.shape == (64, 96, 3), path
  diff = np.abs(image.rgb - golden["result_inference"][0]).max()
  assert diff < tolerance, f"{path}: {diff} from the official result"


def test_deblur(folder, golden):
  proc = run_command("ifan_jax.deblur", ["photos/c.png", "--checkpoint", "model", "--out", "out"], cwd=folder)
  assert proc.returncode == 0, proc.stderr[-3000:]
  _assert_official(folder / "out" / "c.png", golden)


def test_eval(folder, golden):
  dataset = folder / "set"
  (dataset / "source").mkdir(parents=True)
  (dataset / "target").mkdir()
  shutil.copy(folder / "photos" / "c.png", dataset / "source" / "c.png")
  images.write_image(dataset / "target" / "c.png", golden["GT"][0], bit_depth=16)
  args = ["--checkpoint", "model", "--dataset", "folder:set", "--out", "scores", "--figures", "0"]
  proc = run_command("ifan_jax.eval", args, cwd=folder)
  assert proc.returncode == 0, proc.stderr[-3000:]
  outputs = list((folder / "scores" / "outputs").rglob("*.png"))
  assert len(outputs) == 1, outputs
  _assert_official(outputs[0], golden)


def test_serve_api(folder, golden):
  with web.server("model", cwd=folder) as url:
    png = web.post_image(url + "/api/deblur?format=same", folder / "photos" / "c.png")
  (folder / "served.png").write_bytes(png)
  _assert_official(folder / "served.png", golden)


def test_export(folder, golden):
  proc = run_command("ifan_jax.export", ["--checkpoint", "model", "--out", "ifan.jax"], cwd=folder)
  assert proc.returncode == 0, proc.stderr[-3000:]
  exported = jax.export.deserialize(bytearray((folder / "ifan.jax").read_bytes()))
  result, _ = exported.call(golden["C"])
  diff = np.abs(np.asarray(result) - golden["result_inference"]).max()
  assert diff < FLOAT_TOLERANCE, diff
