"""Downsampling and the disparity warp against PyTorch, which the reference uses."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ifan_jax import ops


def _nchw(x):
  return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def _nhwc(t):
  return t.numpy().transpose(0, 2, 3, 1)


def test_area_and_nearest_downsample_match_torch_interpolate():
  x = np.random.default_rng(0).random((2, 16, 24, 3), dtype=np.float32)
  np.testing.assert_allclose(
    ops.area_downsample(x, 8), _nhwc(F.interpolate(_nchw(x), scale_factor=1 / 8, mode="area")), atol=1e-6
  )
  np.testing.assert_array_equal(ops.nearest_downsample(x, 8), _nhwc(F.interpolate(_nchw(x), scale_factor=1 / 8)))


def test_downsample_rejects_indivisible_sizes():
  with pytest.raises(ValueError, match="divisible by 8, got 12x16"):
    ops.area_downsample(np.zeros((1, 12, 16, 3)), 8)


def test_warp_matches_grid_sample_with_align_corners():
  rng = np.random.default_rng(1)
  image = rng.random((2, 5, 9, 3), dtype=np.float32)
  disparity = rng.uniform(-4, 4, (2, 5, 9, 1)).astype(np.float32)
  h, w = image.shape[1:3]
  gx = torch.linspace(-1, 1, w).view(1, 1, w).expand(2, h, w) + _nchw(disparity)[:, 0] / ((w - 1) / 2)
  gy = torch.linspace(-1, 1, h).view(1, h, 1).expand(2, h, w)
  expected = F.grid_sample(
    _nchw(image), torch.stack([gx, gy], -1), mode="bilinear", padding_mode="zeros", align_corners=True
  )
  np.testing.assert_allclose(ops.warp_horizontal(image, disparity), _nhwc(expected), atol=1e-5)


def test_integer_warp_shifts_and_fills_zeros():
  image = np.arange(6, dtype=np.float32).reshape(1, 1, 6, 1) + 1
  shifted = ops.warp_horizontal(image, np.full((1, 1, 6, 1), 2.0, np.float32))
  np.testing.assert_array_equal(shifted[0, 0, :, 0], [3, 4, 5, 6, 0, 0])
