"""Tiled inference for images too large to deblur in one piece: overlapping windows, blended seams.

Windows start on multiples of 8 so that each one sees the same 1/8-resolution grid as the
whole image would. Adjacent windows overlap by at least `overlap` pixels; across an
overlap each window's weight falls linearly to zero a quarter of the overlap before its
edge, where its missing context hurts most, and the weights are normalised to sum to 1.
Pixels outside the overlaps come from one window only.
"""

import os

import jax
import numpy as np
from tqdm import tqdm

from ifan_jax.models import SIZE_MULTIPLE, IFANConfig

DEFAULT_OVERLAP = 128
# Peak activation memory of IFAN inference per input pixel and per full-resolution
# channel: XLA's memory analysis gives ~460 bytes/pixel at 32 channels on CPU; this
# keeps a 4x margin for GPU convolution workspaces and fragmentation.
_BYTES_PER_PIXEL_PER_CHANNEL = 64
# Share of the free device (or host) memory that one inference may plan to use.
_MEMORY_SHARE = 0.5
_MIN_AUTO_TILE = 256


class Stopped(Exception):
  """Tiled deblurring stopped between two tiles because its caller asked (a server's client left)."""


def _round_up(x, multiple=SIZE_MULTIPLE):
  return -(-x // multiple) * multiple


def check_tiling(tile, overlap):
  if tile % SIZE_MULTIPLE or overlap % SIZE_MULTIPLE or not 0 < overlap < tile:
    raise ValueError(
      f"Tiles need tile and overlap multiples of {SIZE_MULTIPLE} with 0 < overlap < tile; got {tile=} and {overlap=}."
    )


def tile_starts(length, tile, overlap):
  """Window starts along one axis: multiples of 8, consecutive windows sharing >= `overlap` pixels.

  The last window ends at `length` (it may be up to 7 pixels shorter than `tile`).
  """
  if length <= tile:
    return [0]
  starts = list(range(0, length - tile, tile - overlap))
  # The largest start s has s + tile < length, so this one (a multiple of 8 at most
  # tile - overlap further on) still overlaps it by `overlap` or more.
  starts.append(_round_up(length - tile))
  return starts


def _axis_weights(start, end, length, overlap):
  """Blend weights of window [start, end) along an axis of `length` pixels."""
  x = np.arange(start, end) + 0.5
  margin, ramp = overlap / 4, overlap / 2
  weight = np.ones(end - start)
  if start > 0:
    weight = np.minimum(weight, np.clip((x - start - margin) / ramp, 0, 1))
  if end < length:
    weight = np.minimum(weight, np.clip((end - x - margin) / ramp, 0, 1))
  return weight.astype(np.float32)


def blend_weights(box, height, width, overlap):
  """`[h, w, 1]` weights of the window `box = (top, left, bottom, right)` in a `height x width` image."""
  top, left, bottom, right = box
  return np.outer(_axis_weights(top, bottom, height, overlap), _axis_weights(left, right, width, overlap))[..., None]


def windows(height, width, tile, overlap):
  """The `(top, left, bottom, right)` windows that tile a `height x width` image."""
  check_tiling(tile, overlap)
  return [
    (top, left, min(top + tile, height), min(left + tile, width))
    for top in tile_starts(height, tile, overlap)
    for left in tile_starts(width, tile, overlap)
  ]


def deblur_tiled(
  deblurrer, image, *, tile, overlap=DEFAULT_OVERLAP, left=None, right=None, progress=False, should_stop=None
):
  """Deblurs `image` (`H x W x 3` in [0, 1]) window by window with a `Deblurrer`; returns `H x W x 3`.

  `left` and `right` (dual-pixel views) are cut into the same windows. `should_stop()` is asked before
  each window: True raises Stopped, so that no more work is spent on a result nobody will take.
  """
  height, width = image.shape[:2]
  result = np.zeros((height, width, 3), np.float32)
  total = np.zeros((height, width, 1), np.float32)
  boxes = windows(height, width, tile, overlap)
  for done, box in enumerate(tqdm(boxes, desc="tiles", leave=False, disable=not progress)):
    if should_stop is not None and should_stop():
      raise Stopped(f"stopped after {done} of {len(boxes)} tiles")
    window = np.s_[box[0] : box[2], box[1] : box[3]]
    out = deblurrer(
      image[window], left=None if left is None else left[window], right=None if right is None else right[window]
    )
    weight = blend_weights(box, height, width, overlap)
    result[window] += weight * out
    total[window] += weight
  return result / total


def _free_memory_bytes():
  stats = jax.local_devices()[0].memory_stats()
  if stats and "bytes_limit" in stats:
    return stats["bytes_limit"] - stats.get("bytes_in_use", 0)
  return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")  # CPU: free host memory


def _bytes_per_pixel(config: IFANConfig):
  return config.channels * _BYTES_PER_PIXEL_PER_CHANNEL


def estimated_bytes(config: IFANConfig, height, width):
  """A generous estimate of the activation memory of deblurring one `height x width` image."""
  return _round_up(height) * _round_up(width) * _bytes_per_pixel(config)


def automatic_tile(config: IFANConfig, height, width, *, overlap=DEFAULT_OVERLAP, free_bytes=None):
  """None when the whole image fits in memory, otherwise the largest square tile that does."""
  budget = _MEMORY_SHARE * (_free_memory_bytes() if free_bytes is None else free_bytes)
  if estimated_bytes(config, height, width) <= budget:
    return None
  side = int(np.sqrt(budget / _bytes_per_pixel(config)))
  return max(side // 64 * 64, _MIN_AUTO_TILE, 2 * overlap)
