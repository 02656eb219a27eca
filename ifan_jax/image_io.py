"""Reading and writing people's image files: PNG, JPEG and TIFF, 8 or 16 bits, upright, RGB in [0, 1].

Used by `python -m ifan_jax.deblur` and `folder:` evaluation, which must keep what the
dataset reader `ifan_jax.data.images` drops: alpha, grey, EXIF orientation. OpenCV
decodes (Pillow cannot read 16-bit colour PNGs). With `IMREAD_UNCHANGED`, which keeps
the bit depth and the alpha channel, OpenCV applies a TIFF's Orientation tag itself but
ignores the EXIF orientation of PNG and JPEG files, so we apply that one.
"""

import dataclasses
import os
import tempfile
from typing import Optional

import cv2
import numpy as np
from PIL import Image

from ifan_jax.data import images

FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".tif": "tiff", ".tiff": "tiff"}
_DEPTHS = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}
_EXIF_ORIENTATION = 0x0112
JPEG_QUALITY = 95


class ImageReadError(ValueError):
  """A file that is not a readable PNG, JPEG or TIFF image of 8 or 16 bits."""


@dataclasses.dataclass
class Photo:
  """A decoded image: `rgb` is `[H, W, 3]` float32 in [0, 1], upright (EXIF orientation applied).

  `grayscale` sources are copied to three channels; `alpha` (`[H, W]`, the source's
  integer type) is kept aside untouched so that it can be written back unchanged.
  """

  rgb: np.ndarray
  bit_depth: int
  grayscale: bool = False
  alpha: Optional[np.ndarray] = None


def image_format(path) -> str:
  """"png", "jpeg" or "tiff" from the file name; a ValueError names any other extension."""
  ext = os.path.splitext(str(path))[1].lower()
  if ext not in FORMATS:
    raise ValueError(f"{path}: unsupported image type {ext!r}; supported: {', '.join(sorted(FORMATS))}.")
  return FORMATS[ext]


def _header(path):
  """(EXIF orientation, whether the pixels are grey) as Pillow reads them without decoding.

  OpenCV expands grey+alpha files to BGRA, so the colour type must come from the header.
  Files Pillow cannot parse give (1, None): no rotation, and OpenCV's channel count decides.
  """
  try:
    with Image.open(path) as image:
      grey = image.mode in ("1", "L", "LA", "La", "I", "F") or image.mode.startswith("I;16")
      return int(image.getexif().get(_EXIF_ORIENTATION, 1)), grey
  except Exception:
    return 1, None


def _upright(pixels, orientation):
  """Undoes EXIF orientation 2..8 on `[H, W, ...]` pixels (1 and unknown values: unchanged)."""
  transposed = pixels.swapaxes(0, 1)
  return {
      2: lambda: pixels[:, ::-1],
      3: lambda: pixels[::-1, ::-1],
      4: lambda: pixels[::-1],
      5: lambda: transposed,
      6: lambda: transposed[:, ::-1],
      7: lambda: transposed[::-1, ::-1],
      8: lambda: transposed[::-1],
  }.get(orientation, lambda: pixels)()


def read_image(path) -> Photo:
  """Reads an 8- or 16-bit PNG, JPEG or TIFF (grey, grey+alpha, RGB or RGBA); raises ImageReadError."""
  fmt = image_format(path)
  try:
    with open(path, "rb") as f:
      pixels = images.decode_pixels(f.read(), str(path))
  except OSError as e:
    raise ImageReadError(f"{path}: cannot read the file ({e.strerror or e}).") from None
  except ValueError as e:
    raise ImageReadError(str(e)) from None
  orientation, grey = _header(path)
  if fmt != "tiff":
    pixels = np.ascontiguousarray(_upright(pixels, orientation))
  if pixels.ndim == 2:
    pixels = pixels[..., None]
  channels = pixels.shape[-1]
  alpha = pixels[..., -1].copy() if channels in (2, 4) else None
  colour = pixels[..., :3 if channels >= 3 else 1]
  grayscale = colour.shape[-1] == 1 or bool(grey)
  colour = np.repeat(colour[..., :1], 3, axis=-1) if grayscale else colour[..., ::-1]  # OpenCV is BGR.
  return Photo(rgb=images.to_float(colour), bit_depth=_DEPTHS[pixels.dtype], grayscale=grayscale, alpha=alpha)


def quantize(values, bit_depth):
  """Floats in [0, 1] to the nearest `bit_depth` (8 or 16) integer code."""
  peak = 2**bit_depth - 1
  dtype = np.uint8 if bit_depth == 8 else np.uint16
  return np.round(np.clip(values, 0.0, 1.0) * peak).astype(dtype)


def write_image(path, rgb, *, bit_depth=8, grayscale=False, alpha=None):
  """Writes `rgb` ([H, W, 3] floats in [0, 1]) as PNG, JPEG or TIFF, chosen by `path`'s extension.

  `grayscale` writes one channel (the mean of the three); `alpha` ([H, W] integers of
  `bit_depth` bits) is appended unchanged. OpenCV writes 1, 3 or 4 channels, so grey with
  alpha is written as RGBA with equal colour channels. JPEG holds 8-bit images without alpha.
  """
  fmt = image_format(path)
  if fmt == "jpeg" and (bit_depth != 8 or alpha is not None):
    raise ValueError(f"{path}: JPEG stores 8-bit images without alpha; got {bit_depth} bits"
                     f"{' and alpha' if alpha is not None else ''}.")
  rgb = np.asarray(rgb)
  if grayscale:
    rgb = rgb.mean(axis=-1, keepdims=True)
    if alpha is not None:
      rgb = np.repeat(rgb, 3, axis=-1)
  pixels = quantize(rgb[..., ::-1], bit_depth)  # OpenCV is BGR.
  if alpha is not None:
    pixels = np.concatenate([pixels, np.asarray(alpha, pixels.dtype)[..., None]], axis=-1)
  params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if fmt == "jpeg" else []
  ok, encoded = cv2.imencode(os.path.splitext(str(path))[1], pixels, params)
  if not ok:
    raise OSError(f"{path}: OpenCV could not encode a {pixels.shape} {pixels.dtype} {fmt.upper()} image.")
  encoded.tofile(path)


def list_images(inputs):
  """Expands files and folders (not recursively) into a sorted list of image files, folder by folder."""
  files = []
  for item in map(str, inputs):
    if os.path.isdir(item):
      names = sorted(n for n in os.listdir(item) if os.path.splitext(n)[1].lower() in FORMATS)
      files.extend(os.path.join(item, n) for n in names)
    else:
      files.append(item)
  return files


def make_output_folder(path):
  """Creates folder `path` (and its parents) and checks that files can be written in it, so that a bad
  output folder fails before any work is done; the OSError names the folder."""
  if os.path.exists(path) and not os.path.isdir(path):
    raise NotADirectoryError(f"{path} is a file, not a folder: give a folder for the outputs.")
  try:
    os.makedirs(path, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
      pass
  except OSError as e:
    raise type(e)(f"Cannot write to the folder {path}: {e.strerror or e}. Choose a folder you can write to.") from e
