"""IFAN single-image defocus deblurring in JAX/Flax."""

from ifan_jax.inference.deblurrer import Deblurrer
from ifan_jax.models import IFAN, IFANConfig, IFANWithReblur, ReblurNet

__all__ = ["Deblurrer", "IFAN", "IFANConfig", "IFANWithReblur", "ReblurNet"]
