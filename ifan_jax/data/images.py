"""The one image decoder of ifan_jax: 8- and 16-bit PNG, JPEG and TIFF files to arrays, via OpenCV.

PIL cannot decode 16-bit PNGs, and TensorFlow is not needed for reading, so every image the
project reads (dataset folders while building; evaluation and deblurring inputs, through
`ifan_jax.image_io`) goes through `decode_pixels`.
"""

import io

import cv2
import numpy as np
from absl import logging
from etils import epath
from PIL import Image

# What the project reads end to end: ifan_jax.image_io (evaluation, deblurring) writes the same formats.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
_JPEG_START = b"\xff\xd8"  # SOI
_JPEG_END = b"\xff\xd9"  # EOI
_JPEG_START_OF_SCAN = 0xDA
_JPEG_MARKERS_WITHOUT_LENGTH = frozenset([0x01, *range(0xD0, 0xD8)])  # TEM, RST0-7
_TIFF_STARTS = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")  # little/big-endian, classic and BigTIFF
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOR_TYPE_RGB = 2  # IHDR colour type byte (offset 25): 2 is RGB, 6 RGBA, 0 grey


def decode_pixels(data: bytes, name: str = "<bytes>") -> np.ndarray:
  """Decodes encoded image bytes as stored: `[H, W]` or `[H, W, C]` in OpenCV's BGR(A) order.

  Keeps the bit depth (uint8 or uint16) and any alpha channel. Raises ValueError naming
  `name` when the bytes are not a readable, complete 8- or 16-bit image.
  """
  if data.startswith(_JPEG_START) and not _jpeg_has_end(data):
    raise ValueError(f"{name}: truncated JPEG (no end-of-image marker after its image data).")
  image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
  if image is None:
    raise ValueError(f"{name}: cannot decode the image (unreadable or truncated file).")
  if image.dtype not in (np.uint8, np.uint16):
    raise ValueError(f"{name}: unsupported pixel type {image.dtype}; expected 8- or 16-bit.")
  if data.startswith(_TIFF_STARTS):
    _warn_if_more_pages(data, name)
  return image


def _warn_if_more_pages(tiff: bytes, name: str):
  """Says when a TIFF has pages beyond the first, which OpenCV's `imdecode` reads alone."""
  try:
    with Image.open(io.BytesIO(tiff)) as image:
      pages = getattr(image, "n_frames", 1)
  # Pillow cannot parse every TIFF that OpenCV decodes (it raises many types): those go uncounted.
  except Exception:  # pylint: disable=broad-except
    return
  if pages > 1:
    logging.warning("%s: a TIFF of %d pages; reading page 1 only.", name, pages)


def _jpeg_has_end(data: bytes) -> bool:
  """Whether JPEG `data` has an end-of-image marker after the header of its first scan.

  OpenCV 4 decodes a truncated JPEG without an error (grey where data is missing), hence the check.
  It walks the segments from SOI by their lengths, so the end of an EXIF thumbnail inside APP1 does
  not count; scan data cannot hold FF D9 (its FF bytes are stuffed). Bytes after the end, such as
  the video a phone appends to a motion photo, are a trailer and fine.
  """
  pos = len(_JPEG_START)
  while pos + 4 <= len(data) and data[pos] == 0xFF:
    marker = data[pos + 1]
    if marker == 0xFF:  # fill byte
      pos += 1
    elif marker in _JPEG_MARKERS_WITHOUT_LENGTH:
      pos += 2
    else:
      pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
      if marker == _JPEG_START_OF_SCAN:
        return data.find(_JPEG_END, pos) >= 0
  return False


def decode_image(data: bytes, name: str = "<bytes>") -> np.ndarray:
  """Decodes encoded image bytes to RGB `[H, W, 3]` uint8 or uint16, as stored.

  Grey images are copied to three channels and an alpha channel is dropped. Raises
  ValueError naming `name` when the bytes are not a readable, complete image.
  """
  image = decode_pixels(data, name)
  if image.ndim == 2:
    return np.repeat(image[:, :, None], 3, axis=2)
  if image.shape[2] == 4:
    image = image[:, :, :3]
  return np.ascontiguousarray(image[:, :, ::-1])


def read_image(path) -> np.ndarray:
  """Reads an image file to RGB `[H, W, 3]` uint8 or uint16 (see `decode_image`)."""
  path = epath.Path(path)
  try:
    data = path.read_bytes()
  except OSError as e:
    raise ValueError(f"{path}: cannot read the file ({e}).") from e
  return decode_image(data, str(path))


def is_rgb_png(data: bytes) -> bool:
  """True for PNG bytes whose header says RGB without alpha (what the TFDS image features store)."""
  return data[:8] == _PNG_SIGNATURE and len(data) > 25 and data[25] == _PNG_COLOR_TYPE_RGB


def encode_png(image: np.ndarray) -> bytes:
  """Encodes RGB `[H, W, 3]` uint8/uint16 as PNG bytes (lossless; 16-bit stays 16-bit)."""
  ok, data = cv2.imencode(".png", np.ascontiguousarray(image[:, :, ::-1]))
  if not ok:
    raise ValueError(f"cannot encode an image of shape {image.shape} and type {image.dtype} as PNG.")
  return data.tobytes()


def to_float(image: np.ndarray) -> np.ndarray:
  """uint8 or uint16 pixels to float32 in [0, 1] (divided by 255 or 65535)."""
  if image.dtype == np.uint8:
    return np.multiply(image, np.float32(1 / 255), dtype=np.float32)
  if image.dtype == np.uint16:
    return np.multiply(image, np.float32(1 / 65535), dtype=np.float32)
  if image.dtype == np.float32:
    return image
  raise ValueError(f"expected uint8, uint16 or float32 pixels, got {image.dtype}.")


def crop_to_multiple(image: np.ndarray, multiple: int = 8) -> np.ndarray:
  """Drops the last rows and columns of `[..., H, W, C]` so that H and W are multiples of `multiple`."""
  h, w = image.shape[-3:-1]
  if h < multiple or w < multiple:
    raise ValueError(f"image of {h}x{w} is smaller than {multiple}x{multiple}.")
  return image[..., : h - h % multiple, : w - w % multiple, :]
