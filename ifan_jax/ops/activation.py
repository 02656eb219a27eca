"""IFAN's one nonlinearity: LeakyReLU with slope 0.1, as in every layer of the reference and inside the IAC."""

import jax.numpy as jnp

NEGATIVE_SLOPE = 0.1


def leaky_relu(x):
  return jnp.where(x >= 0, x, NEGATIVE_SLOPE * x)
