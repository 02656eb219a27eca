"""TEMPORARY stand-in until the lead's ifan_jax/losses.py lands on main (then this file goes)."""

import jax.numpy as jnp

from ifan_jax import ops
from ifan_jax.models.ifan import SIZE_MULTIPLE


def deblur_loss(outputs, sharp):
  return jnp.mean(jnp.square(outputs["result"] - sharp))


def disparity_loss(outputs):
  return jnp.mean(jnp.square(outputs["right_warped"] - outputs["left_down"]))


def reblur_loss(outputs, blurred):
  return jnp.mean(jnp.square(outputs["reblurred"] - ops.area_downsample(blurred, SIZE_MULTIPLE)))
