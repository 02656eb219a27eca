"""Custom operators of IFAN: the IAC, its activation, and the resampling of the training branches."""

from ifan_jax.ops.activation import leaky_relu
from ifan_jax.ops.iac import FilterLayout, IACBlockSizes, iac, iac_fused, iac_reference
from ifan_jax.ops.resample import area_downsample, nearest_downsample, warp_horizontal

__all__ = [
  "FilterLayout",
  "IACBlockSizes",
  "area_downsample",
  "iac",
  "iac_fused",
  "iac_reference",
  "leaky_relu",
  "nearest_downsample",
  "warp_horizontal",
]
