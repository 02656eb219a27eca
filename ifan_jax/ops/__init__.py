"""Custom operators of IFAN: the IAC and the disparity warp."""

from ifan_jax.ops.iac import iac, iac_fused, iac_reference
from ifan_jax.ops.iac_layout import filter_channels
from ifan_jax.ops.iac_pallas import IACBlockSizes
from ifan_jax.ops.resample import area_downsample, nearest_downsample, warp_horizontal

__all__ = ["iac", "iac_fused", "iac_reference", "filter_channels", "IACBlockSizes", "area_downsample",
           "nearest_downsample", "warp_horizontal"]
