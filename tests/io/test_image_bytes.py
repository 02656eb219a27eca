"""The image reader: 8/16-bit PNG, grey and RGBA files, and clear errors for broken files."""

import logging

import cv2
import numpy as np
import pytest
import tifffile

from ifan_jax.data import dummy_data
from ifan_jax.io import images


def _stored(path):
  """What a dataset keeps of an image file: `decode_rgb` of its bytes."""
  return images.decode_rgb(images.read_bytes(path), str(path))


@pytest.mark.parametrize("bits", [8, 16])
def test_png_round_trip_keeps_bit_depth_and_rgb_order(tmp_path, bits):
  image = dummy_data.random_image(np.random.default_rng(0), 5, 7, bits)
  image[0, 0] = [1, 2, 3]
  dummy_data.write_pixels(tmp_path / "a.png", image)
  read = _stored(tmp_path / "a.png")
  assert read.dtype == image.dtype
  np.testing.assert_array_equal(read, image)
  np.testing.assert_array_equal(images.decode_rgb(images.encode_png(image)), image)


def test_grey_and_rgba_become_rgb(tmp_path):
  grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
  dummy_data.write_pixels(tmp_path / "g.png", grey)
  np.testing.assert_array_equal(_stored(tmp_path / "g.png"), np.repeat(grey[..., None], 3, -1))
  bgra = np.zeros((3, 4, 4), np.uint8)
  bgra[..., 2] = 200  # red
  bgra[..., 3] = 255
  (tmp_path / "a.png").write_bytes(cv2.imencode(".png", bgra)[1].tobytes())
  rgb = _stored(tmp_path / "a.png")
  assert rgb.shape == (3, 4, 3)
  np.testing.assert_array_equal(rgb[0, 0], [200, 0, 0])


def test_is_rgb_png(tmp_path):
  dummy_data.write_pixels(tmp_path / "c.png", np.zeros((2, 2, 3), np.uint8))
  dummy_data.write_pixels(tmp_path / "g.png", np.zeros((2, 2), np.uint8))
  assert images.is_rgb_png((tmp_path / "c.png").read_bytes())
  assert not images.is_rgb_png((tmp_path / "g.png").read_bytes())
  assert not images.is_rgb_png(b"\xff\xd8\xff" + bytes(40))


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_file_is_an_error_naming_it(tmp_path, suffix):
  path = tmp_path / f"broken{suffix}"
  dummy_data.write_pixels(path, dummy_data.random_image(np.random.default_rng(0), 16, 16))
  path.write_bytes(path.read_bytes()[:-40])
  with pytest.raises(ValueError, match=f"broken{suffix}.*truncated"):
    _stored(path)


def _jpeg(rng, height, width):
  return cv2.imencode(".jpg", dummy_data.random_image(rng, height, width))[1].tobytes()


def _with_exif_thumbnail(jpeg: bytes, thumbnail: bytes) -> bytes:
  """`jpeg` with an APP1 EXIF segment after SOI whose IFD1 holds `thumbnail`, as cameras write them."""

  def long_entry(tag, value):  # tag, type LONG, count 1, value
    return tag.to_bytes(2, "big") + (4).to_bytes(2, "big") + (1).to_bytes(4, "big") + value.to_bytes(4, "big")

  ifd0 = (0).to_bytes(2, "big") + (14).to_bytes(4, "big")  # no entries; IFD1 follows at offset 14
  ifd1 = (2).to_bytes(2, "big") + long_entry(0x0201, 44) + long_entry(0x0202, len(thumbnail)) + bytes(4)
  exif = b"Exif\0\0" + b"MM\0\x2a" + (8).to_bytes(4, "big") + ifd0 + ifd1 + thumbnail  # thumbnail at 44
  return jpeg[:2] + b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif + jpeg[2:]


def test_jpeg_with_data_after_its_end_decodes_like_the_plain_jpeg(tmp_path):
  jpeg = _jpeg(np.random.default_rng(0), 24, 32)
  trailer = b"\0\0\0\x18ftypmp42" + np.random.default_rng(1).bytes(500)  # a motion photo's video
  (tmp_path / "plain.jpg").write_bytes(jpeg)
  (tmp_path / "motion.jpg").write_bytes(jpeg + trailer)
  np.testing.assert_array_equal(_stored(tmp_path / "motion.jpg"), _stored(tmp_path / "plain.jpg"))


def test_jpeg_cut_in_its_scan_is_truncated_although_its_exif_thumbnail_ends(tmp_path):
  rng = np.random.default_rng(0)
  jpeg = _jpeg(rng, 32, 48)
  with_thumbnail = _with_exif_thumbnail(jpeg, _jpeg(rng, 8, 8))
  np.testing.assert_array_equal(images.decode_pixels(with_thumbnail, "whole.jpg"), images.decode_pixels(jpeg))
  scan_start = len(with_thumbnail) - len(jpeg) + jpeg.index(b"\xff\xda")
  cut = with_thumbnail[: (scan_start + len(with_thumbnail)) // 2]
  with pytest.raises(ValueError, match="cut.jpg: truncated JPEG"):
    images.decode_pixels(cut, "cut.jpg")


@pytest.mark.parametrize("reader", ["decode_rgb", "read_image"])
def test_multi_page_tiff_reads_page_one_and_says_so(tmp_path, caplog, reader):
  rng = np.random.default_rng(0)
  pages = [
    dummy_data.random_image(rng, 6, 8, 16),
    dummy_data.random_image(rng, 4, 4, 16),
    dummy_data.random_image(rng, 6, 8, 16),
  ]
  path = tmp_path / "scan.tif"
  for i, page in enumerate(pages):
    tifffile.imwrite(path, page, photometric="rgb", append=i > 0)
  (tmp_path / "single.tif").write_bytes(cv2.imencode(".tif", pages[0][..., ::-1])[1].tobytes())
  with caplog.at_level(logging.WARNING):
    if reader == "decode_rgb":
      first, single = _stored(path), _stored(tmp_path / "single.tif")
    else:
      first, single = (images.quantize(images.read_image(p).rgb, 16) for p in (path, tmp_path / "single.tif"))
  np.testing.assert_array_equal(first, pages[0])
  np.testing.assert_array_equal(single, pages[0])
  assert [r.getMessage() for r in caplog.records] == [f"{path}: a TIFF of 3 pages; reading page 1 only."]


def test_garbage_and_missing_files_are_errors_naming_them(tmp_path):
  (tmp_path / "junk.png").write_bytes(b"not an image at all")
  with pytest.raises(ValueError, match="junk.png.*cannot decode"):
    _stored(tmp_path / "junk.png")
  with pytest.raises(ValueError, match="absent.png.*cannot read"):
    _stored(tmp_path / "absent.png")


def test_to_float_scales_by_bit_depth():
  np.testing.assert_allclose(images.to_float(np.array([0, 255], np.uint8)), [0, 1])
  np.testing.assert_allclose(images.to_float(np.array([0, 65535, 32768], np.uint16)), [0, 1, 32768 / 65535])
  with pytest.raises(ValueError, match="int32"):
    images.to_float(np.zeros(2, np.int32))


def test_crop_to_multiple():
  assert images.crop_to_multiple(np.zeros((1, 21, 30, 3))).shape == (1, 16, 24, 3)
  with pytest.raises(ValueError, match="smaller than 8x8"):
    images.crop_to_multiple(np.zeros((5, 30, 3)))
