"""IFAN's training losses (all mean squared errors, as the reference), on the model's output dict."""

import jax.numpy as jnp

from ifan_jax import ops
from ifan_jax.models import SIZE_MULTIPLE


def mse(a, b):
  return jnp.mean(jnp.square(a.astype(jnp.float32) - b.astype(jnp.float32)))


def deblur_loss(outputs, sharp):
  """Unclipped training result against the sharp ground truth."""
  return mse(outputs["result"], sharp)


def disparity_loss(outputs):
  """The 1/8 right view warped by its estimated disparity against the 1/8 left view."""
  return mse(outputs["right_warped"], outputs["left_down"])


def reblur_loss(outputs, blurred):
  """The reblurred 1/8 sharp image against the blurred input area-downsampled by 8."""
  return mse(outputs["reblurred"], ops.area_downsample(blurred, SIZE_MULTIPLE))
