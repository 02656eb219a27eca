"""`python -m ifan_jax.deblur` on the kinds of files people have, broken ones included."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from ifan_jax import Deblurrer
from ifan_jax.inference import photos, tiling
from ifan_jax.io import images
from ifan_jax.saved_models import model_dir
from tests.conftest import REPO, TINY_CONFIG, run_command, xavier_params
from tests.io.hostile_files import png_declaring


def _smooth(h, w, channels=3, dtype=np.uint8, seed=0):
  """A smooth random picture (photograph-like), as integers of `dtype`."""
  coarse = np.random.default_rng(seed).random((h // 8 + 2, w // 8 + 2, channels))
  image = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1).reshape(h, w, channels)
  return np.round(image * np.iinfo(dtype).max).astype(dtype)


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
  """A folder with an odd-sized 16-bit PNG, a rotated JPEG, grey and RGBA PNGs, and a corrupt file."""
  folder = tmp_path_factory.mktemp("photos")
  cv2.imwrite(str(folder / "odd16.png"), _smooth(37, 51, dtype=np.uint16))
  phone = Image.fromarray(_smooth(40, 56, seed=1))
  exif = phone.getexif()
  exif[0x0112] = 6  # stored landscape, shown portrait
  phone.save(folder / "phone.jpg", exif=exif, quality=95)
  Image.fromarray(_smooth(32, 40, channels=1, seed=2)[..., 0], "L").save(folder / "grey.png")
  Image.fromarray(_smooth(24, 32, channels=4, seed=3), "RGBA").save(folder / "rgba.png")
  (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
  return folder


@pytest.mark.parametrize("relative", [False, True])
def test_cli_deblurs_every_readable_file_and_reports_the_broken_one(photo_folder, tiny_model_dir, tmp_path, relative):
  out = tmp_path / "out"
  cwd = tmp_path if relative else REPO
  args = [os.path.relpath(p, cwd) if relative else p for p in (photo_folder, tiny_model_dir, out)]
  proc = run_command("ifan_jax.deblur", [args[0], "--checkpoint", args[1], "--out", args[2]], cwd=cwd)
  assert proc.returncode == 1, proc.stderr
  assert "Deblurred 4 of 5 images" in proc.stdout
  assert "broken.png: cannot decode the image" in proc.stdout
  assert sorted(os.listdir(out)) == ["grey.png", "odd16.png", "phone.jpg", "rgba.png"]

  deblurrer = Deblurrer.from_checkpoint(tiny_model_dir)
  odd = cv2.imread(str(out / "odd16.png"), cv2.IMREAD_UNCHANGED)
  assert odd.dtype == np.uint16 and odd.shape == (37, 51, 3)
  expected = images.quantize(deblurrer(images.read_image(photo_folder / "odd16.png").rgb), 16)
  np.testing.assert_array_equal(odd[..., ::-1], expected)
  assert images.read_image(out / "phone.jpg").rgb.shape == (56, 40, 3)  # upright, no EXIF left
  assert cv2.imread(str(out / "grey.png"), cv2.IMREAD_UNCHANGED).shape == (32, 40)
  rgba = cv2.imread(str(out / "rgba.png"), cv2.IMREAD_UNCHANGED)
  np.testing.assert_array_equal(rgba[..., 3], np.asarray(Image.open(photo_folder / "rgba.png"))[..., 3])


def test_an_output_folder_that_cannot_be_used_is_named_before_the_model_is_loaded(photo_folder, locked_dir):
  tmp_path = locked_dir.parent
  (tmp_path / "results.png").write_bytes(b"not a folder")
  for out, reason in (
    ("results.png", "is a file, not a folder"),
    ("results.png/sub", "Not a directory"),
    ("locked", "Operation not permitted"),
    ("locked/sub", "Operation not permitted"),
  ):
    proc = run_command(
      "ifan_jax.deblur", [photo_folder / "grey.png", "--checkpoint", "no/such/model", "--out", out], cwd=tmp_path
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "--out: " in proc.stderr and out in proc.stderr and reason in proc.stderr, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "No checkpoint" not in proc.stderr
  assert (tmp_path / "results.png").read_bytes() == b"not a folder" and os.listdir(locked_dir) == []


def test_cli_help_lists_the_flags():
  proc = subprocess.run(
    [sys.executable, "-m", "ifan_jax.deblur", "--help"],
    cwd=REPO,
    capture_output=True,
    text=True,
    timeout=120,
    check=False,
  )
  for flag in ("--checkpoint", "--out", "--tile", "--overlap", "--left", "--right", "--max_pixels"):
    assert flag in proc.stdout


def test_tiled_run_matches_whole_image_run(tiny_model_dir, tmp_path):
  source = tmp_path / "big.png"
  cv2.imwrite(str(source), _smooth(200, 264, seed=4))
  whole_failures, _ = photos.deblur_files([source], checkpoint=tiny_model_dir, out_dir=tmp_path / "whole")
  tiled_failures, _ = photos.deblur_files(
    [source], checkpoint=tiny_model_dir, out_dir=tmp_path / "tiled", tile=96, overlap=32
  )
  assert whole_failures == tiled_failures == []
  whole = cv2.imread(str(tmp_path / "whole" / "big.png")).astype(int)
  tiled = cv2.imread(str(tmp_path / "tiled" / "big.png")).astype(int)
  cover = np.zeros((200, 264), int)
  for top, left, bottom, right in tiling.windows(200, 264, 96, 32):
    cover[top:bottom, left:right] += 1
  assert np.abs(whole - tiled).max(axis=-1)[cover == 1].max() <= 1  # 1e-3 before 8-bit rounding
  assert np.abs(whole - tiled).max() <= 3


def test_inputs_are_never_overwritten(photo_folder, tiny_model_dir):
  before = (photo_folder / "grey.png").read_bytes()
  failures, total = photos.deblur_files([photo_folder / "grey.png"], checkpoint=tiny_model_dir, out_dir=photo_folder)
  assert total == 1 and "would overwrite an input" in failures[0][1]
  assert (photo_folder / "grey.png").read_bytes() == before


def test_dual_pixel_views_must_pair_with_inputs(photo_folder, tiny_model_dir, tmp_path):
  with pytest.raises(ValueError, match="1 inputs, 2 left and 1 right"):
    photos.deblur_files(
      [photo_folder / "grey.png"],
      checkpoint=tiny_model_dir,
      out_dir=tmp_path,
      left=[photo_folder / "grey.png", photo_folder / "rgba.png"],
      right=[photo_folder / "grey.png"],
    )


def test_dual_pixel_model_reads_left_and_right_views(photo_folder, tmp_path):
  config = TINY_CONFIG.replace(dual_pixel=True)
  model_dir.save_model(tmp_path / "dual", config, xavier_params(config))
  views = tmp_path / "views"
  views.mkdir()
  for name in ("left.png", "right.png"):
    cv2.imwrite(str(views / name), _smooth(32, 40, seed=len(name)))
  failures, _ = photos.deblur_files(
    [photo_folder / "grey.png"],
    checkpoint=tmp_path / "dual",
    out_dir=tmp_path / "out",
    left=[views / "left.png"],
    right=[views / "right.png"],
    tile=24,
    overlap=8,
  )
  assert failures == []
  assert cv2.imread(str(tmp_path / "out" / "grey.png"), cv2.IMREAD_UNCHANGED).shape == (32, 40)
  with pytest.raises(ValueError, match="dual-pixel IFAN: give --left and --right"):
    photos.deblur_files([photo_folder / "grey.png"], checkpoint=tmp_path / "dual", out_dir=tmp_path / "out")


@pytest.mark.parametrize("relative", [False, True])
def test_files_over_the_pixel_limit_or_opencvs_are_reported_and_the_rest_deblurred(tiny_model_dir, tmp_path, relative):
  """`deblur ok.png huge.png one.png`: huge.png (a 74-byte PNG declaring 30000x30000) is refused from its
  header, one.png is still deblurred, and the summary lists the failure; no traceback. Raising
  --max_pixels past OpenCV's own limit (2^30 pixels) gets OpenCV's refusal, named the same way."""
  inputs = tmp_path / "in"
  inputs.mkdir()
  cv2.imwrite(str(inputs / "ok.png"), _smooth(24, 32))
  (inputs / "huge.png").write_bytes(png_declaring(30000, 30000))
  (inputs / "over_opencv.png").write_bytes(png_declaring(40000, 30000))
  cv2.imwrite(str(inputs / "one.png"), _smooth(16, 24, seed=1))
  cwd = tmp_path if relative else REPO
  names = [inputs / n for n in ("ok.png", "huge.png", "over_opencv.png", "one.png")] + [
    tiny_model_dir,
    tmp_path / "out",
  ]
  *images_, model, out = [os.path.relpath(p, cwd) if relative else p for p in names]
  proc = run_command("ifan_jax.deblur", [*images_, "--checkpoint", model, "--out", out], cwd=cwd)
  assert proc.returncode == 1, proc.stderr[-3000:]
  assert "Traceback" not in proc.stderr
  assert "Deblurred 2 of 4 images" in proc.stdout
  assert f"failed: {images_[1]}: 30000x30000 pixels (900.0 megapixels), more than the 200 megapixels" in proc.stdout
  assert sorted(os.listdir(tmp_path / "out")) == ["ok.png", "one.png"]

  proc = run_command(
    "ifan_jax.deblur", [images_[2], "--checkpoint", model, "--out", out, "--max_pixels=2000000000"], cwd=cwd
  )
  assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
  assert f"failed: {images_[2]}: OpenCV cannot decode the image" in proc.stdout


def test_a_16_bit_png_named_jpg_fails_before_the_model_runs(tiny_model_dir, tmp_path, monkeypatch):
  (tmp_path / "scan.jpg").write_bytes(cv2.imencode(".png", _smooth(16, 24, dtype=np.uint16))[1].tobytes())
  monkeypatch.setattr(photos, "deblur_photo", lambda *a, **k: pytest.fail("the model ran"))
  failures, total = photos.deblur_files([tmp_path / "scan.jpg"], checkpoint=tiny_model_dir, out_dir=tmp_path / "out")
  assert total == 1 and "holds a PNG image: rename it to .png" in failures[0][1]
  assert os.listdir(tmp_path / "out") == []
