"""What the README and user guide promise of `python -m ifan_jax.deblur`'s command line: two inputs of one
name are not written over each other, and --tile, --overlap, --left and --right reach the deblurring."""

import os

import cv2
import numpy as np
import pytest

from ifan_jax.inference import photos
from ifan_jax.saved_models import model_dir
from tests.conftest import REPO, TINY_CONFIG, run_command, xavier_params
from tests.inference.test_photos import _smooth


def _paths(paths, cwd, relative):
  return [os.path.relpath(p, cwd) if relative else str(p) for p in paths]


@pytest.mark.parametrize("relative", [False, True])
def test_a_second_input_of_the_same_name_is_refused_and_the_first_kept(tiny_model_dir, tmp_path, relative):
  for folder, seed in (("a", 1), ("b", 2)):
    (tmp_path / folder).mkdir()
    cv2.imwrite(str(tmp_path / folder / "x.png"), _smooth(24, 32, seed=seed))
  cwd = tmp_path if relative else REPO
  first, second, model, out = _paths(
    [tmp_path / "a" / "x.png", tmp_path / "b" / "x.png", tiny_model_dir, tmp_path / "out"], cwd, relative
  )
  proc = run_command("ifan_jax.deblur", [first, second, "--checkpoint", model, "--out", out], cwd=cwd)
  assert proc.returncode == 1, proc.stderr[-3000:]
  assert "Deblurred 1 of 2 images" in proc.stdout
  assert f"failed: {second}: its output {os.path.join(out, 'x.png')} is already written for {first}." in proc.stdout
  assert os.listdir(tmp_path / "out") == ["x.png"]
  # The file is the first input's result.
  failures, _ = photos.deblur_files([tmp_path / "a" / "x.png"], checkpoint=tiny_model_dir, out_dir=tmp_path / "ref")
  assert failures == []
  assert (tmp_path / "out" / "x.png").read_bytes() == (tmp_path / "ref" / "x.png").read_bytes()


def test_tile_overlap_left_and_right_on_the_command_line(tmp_path):
  """A dual-pixel model, its views and tiles given as flags (relative paths) give the library's result with
  the same options, and not that of other tiles or other views."""
  config = TINY_CONFIG.replace(dual_pixel=True)
  model_dir.save_model(tmp_path / "dual", config, xavier_params(config))
  # 16-bit: the tiny random model's views move its result by about 4e-5, under 8-bit rounding.
  for name, seed in (("photo.png", 3), ("left.png", 4), ("right.png", 5), ("other.png", 6)):
    cv2.imwrite(str(tmp_path / name), _smooth(40, 56, dtype=np.uint16, seed=seed))

  def command(out, right):
    args = ["photo.png", "--checkpoint", "dual", "--out", out, "--left", "left.png", "--right", right]
    proc = run_command("ifan_jax.deblur", [*args, "--tile", "24", "--overlap", "8"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "photo.png: 56x40 in tiles of 24 pixels" in proc.stderr
    return cv2.imread(str(tmp_path / out / "photo.png"), cv2.IMREAD_UNCHANGED).astype(int)

  def library(out, **options):
    views = {"left": [tmp_path / "left.png"], "right": [tmp_path / "right.png"]}
    failures, _ = photos.deblur_files(
      [tmp_path / "photo.png"], checkpoint=tmp_path / "dual", out_dir=tmp_path / out, **views, **options
    )
    assert failures == []
    return cv2.imread(str(tmp_path / out / "photo.png"), cv2.IMREAD_UNCHANGED).astype(int)

  result = command("out", "right.png")
  np.testing.assert_array_equal(result, library("same", tile=24, overlap=8))
  for other in (library("whole"), library("overlap16", tile=24, overlap=16), command("views", "other.png")):
    assert np.abs(result - other).max() > 0  # each flag mattered
