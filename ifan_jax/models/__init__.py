"""Flax modules of IFAN."""

from ifan_jax.models.ifan import IFAN, SIZE_MULTIPLE, check_image_shape
from ifan_jax.models.ifan_config import IFANConfig
from ifan_jax.models.reblur import IFANWithReblur, ReblurNet

__all__ = ["IFANConfig", "IFAN", "IFANWithReblur", "ReblurNet", "SIZE_MULTIPLE", "check_image_shape"]
