"""The reader under hostile and careless input: bombs refused from their header, OpenCV's failures named,
colours with unassociated alpha kept, other formats refused, what is left out of a file said."""

import io

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from ifan_jax.io import images
from tests.io.hostile_files import jpeg_declaring, png_declaring, tiff_declaring

BOMBS = {"bomb.png": png_declaring, "bomb.jpg": jpeg_declaring, "bomb.tif": tiff_declaring}


@pytest.fixture
def no_decoding(monkeypatch):
  """Fails the test if OpenCV or Pillow is asked to decode pixels."""

  def refuse(*args, **kwargs):
    raise AssertionError("a decoder was called")

  monkeypatch.setattr(images.cv2, "imdecode", refuse)
  monkeypatch.setattr(images, "_decode_with_pillow", refuse)


@pytest.mark.parametrize("name", sorted(BOMBS))
@pytest.mark.parametrize("reader", ["decode_image", "decode_rgb", "read_image"])
def test_a_tiny_file_declaring_a_huge_image_is_refused_before_decoding(tmp_path, no_decoding, name, reader):
  data = BOMBS[name](30000, 30000)
  assert len(data) < 1000
  message = f"{name}: 30000x30000 pixels (900.0 megapixels), more than the 200 megapixels accepted (--max_pixels)."
  with pytest.raises(images.ImageReadError) as raised:
    if reader == "read_image":
      (tmp_path / name).write_bytes(data)
      images.read_image(tmp_path / name)
    else:
      getattr(images, reader)(data, name)
  assert str(raised.value).endswith(message)


def test_the_limit_is_a_setting(no_decoding):
  data = png_declaring(100, 80)
  with pytest.raises(images.ImageReadError, match=r"a.png: 100x80 pixels \(0.0 megapixels\), more than the 0.005 mega"):
    images.decode_image(data, "a.png", max_pixels=5000)
  assert images.read_header(data).width == 100


def test_a_header_over_pillows_own_bomb_limit_is_read():
  """Pillow's Image.open refuses over 179 megapixels (2 x MAX_IMAGE_PIXELS): not the header reader."""
  header = images.read_header(png_declaring(19000, 10000), "big.png")
  assert (header.width, header.height, header.fmt) == (19000, 10000, "png")


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_an_image_over_opencvs_own_limit_is_an_error_naming_the_file(name):
  """With the limit raised past OpenCV's 2^30 pixels, OpenCV refuses (before allocating): an ImageReadError."""
  data = BOMBS[name](40000, 30000)
  with pytest.raises(images.ImageReadError, match=rf"^{name}: OpenCV cannot decode the image \(.+\)\.$"):
    images.decode_image(data, name, max_pixels=2_000_000_000)


@pytest.mark.parametrize(
  "data",
  [
    cv2.imencode(".bmp", np.zeros((4, 4, 3), np.uint8))[1].tobytes(),
    cv2.imencode(".webp", np.zeros((4, 4, 3), np.uint8))[1].tobytes(),
    b"GIF89a" + bytes(30),
    b"",
  ],
  ids=["bmp", "webp", "gif", "empty"],
)
def test_bytes_of_another_format_are_refused_whatever_their_name(data):
  with pytest.raises(images.ImageReadError, match=r"^photo.png: cannot decode the image"):
    images.decode_image(data, "photo.png")


def _semi_transparent(height, width, grey=False, seed=0):
  """Random colours under random alpha, with fully transparent and half-transparent pixels."""
  rng = np.random.default_rng(seed)
  pixels = rng.integers(0, 256, (height, width, 2 if grey else 4), dtype=np.uint8)
  pixels[0, :, -1] = 0
  pixels[1, :, -1] = 128
  return pixels


def _pil(pixels, fmt, **options):
  buffer = io.BytesIO()
  Image.fromarray(pixels, "LA" if pixels.shape[-1] == 2 else "RGBA").save(buffer, fmt, **options)
  return buffer.getvalue()


def _opencv(pixels, suffix):
  return cv2.imencode(suffix, pixels[..., [2, 1, 0, 3]])[1].tobytes()


WRITERS = {
  "pil.tif": lambda p: _pil(p, "TIFF"),
  "pil_lzw.tif": lambda p: _pil(p, "TIFF", compression="tiff_lzw"),
  "pil_grey.tif": lambda p: _pil(p[..., [0, 3]], "TIFF"),
  "pil.png": lambda p: _pil(p, "PNG"),
  "opencv.tif": lambda p: _opencv(p, ".tif"),
  "opencv.png": lambda p: _opencv(p, ".png"),
  "tifffile_tiled.tif": lambda p: _tifffile(p, tile=(16, 16)),
}


def _tifffile(pixels, **options):
  buffer = io.BytesIO()
  tifffile.imwrite(buffer, pixels, photometric="rgb", extrasamples=[2], **options)  # unassociated alpha
  return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_colours_under_alpha_come_back_as_they_went_in(tmp_path, name):
  """Unassociated alpha (PNG's, and TIFF's as Pillow, GIMP and tifffile write it) is read as stored and
  written back: a semi-transparent pixel keeps its colour (OpenCV alone premultiplied 8-bit TIFFs)."""
  pixels = _semi_transparent(32, 48)
  if name == "pil_grey.tif":
    pixels = np.concatenate([np.repeat(pixels[..., :1], 3, -1), pixels[..., 3:]], -1)
  (tmp_path / name).write_bytes(WRITERS[name](pixels))
  photo = images.read_image(tmp_path / name)
  np.testing.assert_array_equal(photo.alpha, pixels[..., 3])
  np.testing.assert_array_equal(images.quantize(photo.rgb, 8), pixels[..., :3])
  images.write_image(tmp_path / f"out_{name}", photo.rgb, grayscale=photo.grayscale, alpha=photo.alpha)
  with Image.open(tmp_path / f"out_{name}") as written:
    np.testing.assert_array_equal(np.asarray(written.convert("RGBA")), pixels)


def test_a_multi_page_tiff_an_animated_png_and_a_multi_picture_jpeg_say_what_was_left_out(tmp_path):
  frames = [Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)) for i in range(3)]
  notes = {
    "TIFF": "a TIFF of 3 pages; reading page 1 only.",
    "PNG": "an animated PNG of 3 frames; reading the first only.",
    "MPO": "a multi-picture JPEG of 3 frames; reading the first only.",
  }
  for fmt, note in notes.items():
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:])
    photo = images.decode_image(buffer.getvalue(), "x.tif" if fmt == "TIFF" else "x.png")
    assert photo.notes == (note,), fmt
    np.testing.assert_array_equal(images.quantize(photo.rgb, 8)[0, 0], [0, 0, 0])
  assert images.decode_image(cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes(), "one.png").notes == ()


def test_a_16_bit_png_named_jpg_is_refused_before_any_work_for_its_jpeg_result():
  data = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint16))[1].tobytes()
  photo = images.decode_image(data, "photo.jpg")
  assert (photo.fmt, photo.bit_depth) == ("png", 16)
  with pytest.raises(ValueError, match=r"photo.jpg: JPEG stores 8-bit .* holds a PNG image: rename it to .png"):
    images.check_writable(photo, "jpeg", "photo.jpg")
  images.check_writable(photo, "png", "photo.png")
