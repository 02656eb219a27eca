"""The sRGB transfer curve (IEC 61966-2-1), in both directions, on numpy arrays in [0, 1].

The reference's greyscale augmentation encodes luminance with it, and `synthetic_dp` renders its
scenes in linear light and stores them encoded; both use these two functions.
"""

import numpy as np


def to_linear(encoded: np.ndarray) -> np.ndarray:
  """sRGB-encoded values in [0, 1] to linear light, float32."""
  return np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4).astype(np.float32)


def from_linear(linear: np.ndarray) -> np.ndarray:
  """Linear light (at least 0) to sRGB-encoded values, float32; nothing is clipped, so callers whose
  values may leave [0, 1] clip first (the greyscale augmentation's luminance may exceed 1 by 1e-4)."""
  threshold = 0.0031308
  return np.where(
    linear <= threshold, linear * 12.92, 1.055 * np.power(np.maximum(linear, threshold), 1 / 2.4) - 0.055
  ).astype(np.float32)
