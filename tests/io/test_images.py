"""The image reader and writer: bit depths, EXIF orientation, grey, alpha, broken files."""

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps

from ifan_jax.io import images


def _pattern(h, w, dtype=np.uint8, channels=3, seed=0):
  return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max, (h, w, channels), endpoint=True, dtype=dtype)


def test_16_bit_odd_sized_png_round_trip(tmp_path):
  raw = _pattern(13, 21, np.uint16)  # RGB
  path = str(tmp_path / "odd.png")
  cv2.imwrite(path, raw[..., ::-1])
  photo = images.read_image(path)
  assert (photo.bit_depth, photo.grayscale, photo.alpha) == (16, False, None)
  assert photo.rgb.shape == (13, 21, 3) and photo.rgb.dtype == np.float32
  np.testing.assert_allclose(photo.rgb, raw / 65535.0, atol=1e-7)
  out = str(tmp_path / "out.png")
  images.write_image(out, photo.rgb, bit_depth=16)
  written = cv2.imread(out, cv2.IMREAD_UNCHANGED)
  assert written.dtype == np.uint16
  np.testing.assert_array_equal(written[..., ::-1], raw)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_like_pillow(tmp_path, orientation):
  raw = _pattern(6, 10)
  image = Image.fromarray(raw)
  exif = image.getexif()
  exif[0x0112] = orientation
  path = str(tmp_path / "oriented.png")
  image.save(path, exif=exif)
  with Image.open(path) as expected:
    np.testing.assert_array_equal(
      images.quantize(images.read_image(path).rgb, 8), np.asarray(ImageOps.exif_transpose(expected))
    )


def test_jpeg_with_exif_rotation_reads_upright(tmp_path):
  raw = np.zeros((40, 64, 3), np.uint8)
  raw[:8, :16] = 255  # A white block top-left; orientation 6 means "turn 90 degrees clockwise".
  image = Image.fromarray(raw)
  exif = image.getexif()
  exif[0x0112] = 6
  path = str(tmp_path / "phone.jpg")
  image.save(path, exif=exif, quality=95)
  photo = images.read_image(path)
  assert photo.rgb.shape == (64, 40, 3)
  assert photo.rgb[:16, -8:].mean() > 0.95 and photo.rgb[:16, :8].mean() < 0.05


def test_16_bit_tiff_orientation_tag_is_applied_once(tmp_path):
  raw = np.zeros((24, 40, 3), np.uint16)
  raw[:8, :16] = 65535
  path = str(tmp_path / "scan.tif")
  tifffile.imwrite(path, raw, photometric="rgb", extratags=[(274, "H", 1, 6, True)])
  photo = images.read_image(path)
  assert photo.bit_depth == 16 and photo.rgb.shape == (40, 24, 3)
  assert photo.rgb[:16, -8:].min() == 1.0 and photo.rgb[:16, :8].max() == 0.0


def test_grayscale_reads_as_three_channels_and_writes_one(tmp_path):
  grey = _pattern(9, 11, channels=1)[..., 0]
  path = str(tmp_path / "grey.png")
  Image.fromarray(grey, "L").save(path)
  photo = images.read_image(path)
  assert photo.grayscale and photo.rgb.shape == (9, 11, 3)
  for c in range(3):
    np.testing.assert_array_equal(images.quantize(photo.rgb[..., c], 8), grey)
  out = str(tmp_path / "grey_out.png")
  images.write_image(out, photo.rgb, grayscale=True)
  np.testing.assert_array_equal(cv2.imread(out, cv2.IMREAD_UNCHANGED), grey)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_carried_through_untouched(tmp_path, mode):
  raw = _pattern(7, 12, channels=len(mode))
  path = str(tmp_path / "alpha.png")
  Image.fromarray(raw, mode).save(path)
  photo = images.read_image(path)
  assert photo.grayscale == (mode == "LA")
  np.testing.assert_array_equal(photo.alpha, raw[..., -1])
  out = str(tmp_path / "alpha_out.png")
  images.write_image(out, 1 - photo.rgb, grayscale=photo.grayscale, alpha=photo.alpha)
  with Image.open(out) as written:
    assert written.mode == "RGBA"  # OpenCV cannot write grey+alpha: it becomes RGBA.
    np.testing.assert_array_equal(np.asarray(written)[..., -1], raw[..., -1])
    np.testing.assert_array_equal(np.asarray(written)[..., 0], 255 - raw[..., 0])


def test_unreadable_files_raise_errors_naming_them(tmp_path):
  corrupt = tmp_path / "corrupt.jpg"
  corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
  with pytest.raises(images.ImageReadError, match=r"corrupt\.jpg: truncated JPEG"):
    images.read_image(corrupt)
  with pytest.raises(images.ImageReadError, match=r"missing\.png: cannot read"):
    images.read_image(tmp_path / "missing.png")
  with pytest.raises(ValueError, match=r"notes\.txt: unsupported image type '\.txt'"):
    images.read_image(tmp_path / "notes.txt")
  float_tiff = str(tmp_path / "float.tif")
  tifffile.imwrite(float_tiff, np.zeros((4, 4, 3), np.float32), photometric="rgb")
  with pytest.raises(images.ImageReadError, match=r"float\.tif: cannot decode the TIFF \(unknown pixel mode\)"):
    images.read_image(float_tiff)


def test_jpeg_refuses_16_bits(tmp_path):
  with pytest.raises(ValueError, match="JPEG stores 8-bit images"):
    images.write_image(tmp_path / "x.jpg", np.zeros((4, 4, 3)), bit_depth=16)


def test_list_images_expands_folders_in_sorted_order(tmp_path):
  for name in ("b.png", "a.JPG", "c.tiff", "notes.txt"):
    (tmp_path / name).write_bytes(b"")
  listed = images.list_images([tmp_path, tmp_path / "extra.png"])
  assert listed == [str(tmp_path / n) for n in ("a.JPG", "b.png", "c.tiff")] + [str(tmp_path / "extra.png")]


def test_decode_image_reads_bytes_as_read_image_reads_the_file(tmp_path):
  """Uploads go through `decode_image`: same photo (orientation, grey, alpha, bit depth) as the file's."""
  rgba = Image.fromarray(_pattern(6, 10, channels=4), "RGBA")
  exif = rgba.getexif()
  exif[0x0112] = 6
  rgba.save(tmp_path / "turned.png", exif=exif)
  Image.fromarray(_pattern(5, 7, channels=1)[..., 0], "L").save(tmp_path / "grey.jpg", quality=95)
  tifffile.imwrite(
    tmp_path / "scan.tif", _pattern(8, 4, np.uint16), photometric="rgb", extratags=[(274, "H", 1, 6, True)]
  )
  for name in ("turned.png", "grey.jpg", "scan.tif"):
    expected = images.read_image(tmp_path / name)
    photo = images.decode_image((tmp_path / name).read_bytes(), name)
    assert (photo.bit_depth, photo.grayscale) == (expected.bit_depth, expected.grayscale), name
    np.testing.assert_array_equal(photo.rgb, expected.rgb)
    np.testing.assert_array_equal(photo.alpha, expected.alpha)
  with pytest.raises(ValueError, match=r"upload\.gif: unsupported image type '\.gif'"):
    images.decode_image((tmp_path / "turned.png").read_bytes(), "upload.gif")
