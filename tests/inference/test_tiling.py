"""Tiled inference: window layout, blend weights, and agreement with whole-image inference."""

import numpy as np
import pytest
import skimage.data

from ifan_jax import Deblurrer
from ifan_jax.inference import tiling


@pytest.mark.parametrize("length", [64, 65, 200, 203, 301, 1000])
@pytest.mark.parametrize("tile, overlap", [(64, 16), (96, 32), (128, 64)])
def test_windows_cover_the_axis_on_the_8_pixel_grid(length, tile, overlap):
  starts = tiling.tile_starts(length, tile, overlap)
  ends = [min(s + tile, length) for s in starts]
  assert starts[0] == 0 and ends[-1] == length
  assert all(s % 8 == 0 for s in starts)
  assert all(e - s > tile - 8 for s, e in zip(starts, ends)) or length <= tile
  assert all(end - nxt >= overlap for nxt, end in zip(starts[1:], ends))  # consecutive overlaps


def test_blend_weights_sum_to_one_and_are_one_away_from_seams():
  height, width, tile, overlap = 203, 301, 96, 32
  total = np.zeros((height, width))
  cover = np.zeros((height, width), int)
  for box in tiling.windows(height, width, tile, overlap):
    top, left, bottom, right = box
    total[top:bottom, left:right] += tiling.blend_weights(box, height, width, overlap)[..., 0]
    cover[top:bottom, left:right] += 1
  assert total.min() > 0
  np.testing.assert_array_equal(total[cover == 1], 1.0)


def test_tiled_equals_whole_image_away_from_seams(tiny_model_dir):
  deblurrer = Deblurrer.from_checkpoint(tiny_model_dir)
  image = skimage.data.astronaut()[:203, :301].astype(np.float32) / 255
  whole = deblurrer(image)
  tiled = tiling.deblur_tiled(deblurrer, image, tile=96, overlap=32)
  cover = np.zeros(image.shape[:2], int)
  for top, left, bottom, right in tiling.windows(203, 301, 96, 32):
    cover[top:bottom, left:right] += 1
  error = np.abs(tiled - whole).max(axis=-1)
  assert error[cover == 1].max() < 1e-3
  assert error.max() < 1e-2  # blended seams stay close too
  assert np.abs(whole - image).max() > 0.1  # the model does change the image


def test_bad_tiles_are_refused():
  with pytest.raises(ValueError, match="tile=100 and overlap=32"):
    tiling.windows(300, 300, 100, 32)
  with pytest.raises(ValueError, match="0 < overlap < tile"):
    tiling.windows(300, 300, 64, 64)


def test_automatic_tile_only_when_the_image_does_not_fit(tiny_model_dir):
  config = Deblurrer.from_checkpoint(tiny_model_dir).config
  needed = tiling.estimated_bytes(config, 1024, 1536)
  assert tiling.automatic_tile(config, 1024, 1536, free_bytes=4 * needed) is None
  tile = tiling.automatic_tile(config, 1024, 1536, free_bytes=needed)
  assert tile % 64 == 0 and 256 <= tile < 1024
  assert tiling.estimated_bytes(config, tile, tile) <= needed / 2
