"""What the server sends back: the result file (the API's PNG, or the input's format as the deblur
CLI writes it) and the page's previews (8-bit PNGs of the blurred image, the result and the
colour-mapped disparity, all at the image's size)."""

import functools
import os

import numpy as np

from ifan_jax.evaluation.figures import DISPARITY_CMAP, disparity_extent
from ifan_jax.io import images
from ifan_jax.models import SIZE_MULTIPLE

# Formats of the result file: the API's PNG, or "same": the input's own, as the deblur CLI writes it.
RESULT_FORMATS = ("png", "same")
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "tiff": "image/tiff"}


def result_file(sharp, photo: images.Photo, filename: str, result_format="png") -> tuple[bytes, str, str]:
  """`(bytes, media type, file name)` of the deblurred image, keeping the input's bit depth, grey and alpha.

  "png" is the API's default (lossless, 16-bit stays 16-bit); "same" is the input's format, byte for
  byte what `python -m ifan_jax.deblur` writes for that file.
  """
  if result_format not in RESULT_FORMATS:
    raise ValueError(f"Unknown result format {result_format!r}; expected one of {', '.join(RESULT_FORMATS)}.")
  fmt = "png" if result_format == "png" else images.image_format(filename)
  data = images.encode_image(
    fmt, sharp, bit_depth=photo.bit_depth, grayscale=photo.grayscale, alpha=photo.alpha, name=filename
  )
  stem, suffix = os.path.splitext(os.path.basename(filename))
  return data, MEDIA_TYPES[fmt], f"{stem}_deblurred{'.png' if fmt == 'png' else suffix}"


def preview(rgb) -> bytes:
  """An 8-bit PNG of `[H, W, 3]` floats in [0, 1], for the page to show (browsers cannot show TIFF)."""
  return images.encode_image("png", rgb, bit_depth=8)


@functools.cache
def _colour_table() -> np.ndarray:
  """`[256, 3]` float32 RGB of the disparity colour map, read from matplotlib once."""
  from matplotlib import colormaps  # pylint: disable=import-outside-toplevel

  return colormaps[DISPARITY_CMAP](np.linspace(0, 1, 256))[:, :3].astype(np.float32)


def disparity_preview(disparity, height, width) -> bytes:
  """The `[ceil(H/8), ceil(W/8)]` disparity colour-mapped like the evaluation figures, at `height x width`.

  Each value covers the 8x8 pixels it was estimated for (cropped at the bottom and right edges, as
  the padded image was), so the map lies exactly over the photo.
  """
  extent = disparity_extent(disparity)
  codes = np.round((np.clip(disparity / extent, -1, 1) + 1) * 127.5).astype(np.uint8)
  pixels = codes.repeat(SIZE_MULTIPLE, axis=0).repeat(SIZE_MULTIPLE, axis=1)[:height, :width]
  return preview(_colour_table()[pixels])
