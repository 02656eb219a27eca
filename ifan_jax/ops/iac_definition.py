"""The IAC as defined, in plain jnp: one iteration and the whole loop, the ground truth for tests.

Kept apart from `iac.py` so that every implementation (the XLA scan there, the Pallas
kernel in `iac_pallas.py`) can import the definition without importing each other.
"""

import jax.numpy as jnp
from jax import lax

from ifan_jax.ops import iac_layout

NEGATIVE_SLOPE = 0.1


def leaky_relu(x):
  return jnp.where(x >= 0, x, NEGATIVE_SLOPE * x)


def _filter_1d(x, taps, axis):
  """Replicate-padded k-tap filter along `axis` (1 = rows, 2 = columns).

  `taps` is `[B, H, W, k, C]`: tap t weights the neighbour at offset t - (k-1)/2.
  """
  k = taps.shape[-2]
  pad = (k - 1) // 2
  widths = [(0, 0)] * x.ndim
  widths[axis] = (pad, pad)
  padded = jnp.pad(x, widths, mode="edge")
  size = x.shape[axis]
  out = lax.slice_in_dim(padded, 0, size, axis=axis) * taps[..., 0, :]
  for t in range(1, k):
    out += lax.slice_in_dim(padded, t, t + size, axis=axis) * taps[..., t, :]
  return out


def iac_step(x, vertical, horizontal, bias, act):
  """One IAC iteration on `[B, H, W, C]` with `[B, H, W, k, C]` taps and `[B, H, W, C]` bias."""
  x = _filter_1d(x, vertical, axis=1)
  x = _filter_1d(x, horizontal, axis=2)
  x = x + bias
  return leaky_relu(x) if act else x


def iac_reference(features, filters, *, iterations, filter_size, compat=False, act_last=True):
  """Plain-jnp IAC that mirrors the definition loop for loop; the ground truth for tests."""
  c, k = features.shape[-1], filter_size
  iac_layout.check_shapes(features.shape, filters.shape, iterations, k)
  x = features
  for i in range(iterations):
    group = filters[..., i * 2 * c * k:(i + 1) * 2 * c * k]
    vertical = iac_layout.taps_last_to_kc(group[..., :c * k], c, k)
    horizontal = vertical if compat else iac_layout.taps_last_to_kc(group[..., c * k:], c, k)
    bias = filters[..., iterations * 2 * c * k + i * c:iterations * 2 * c * k + (i + 1) * c]
    x = iac_step(x, vertical, horizontal, bias, act=act_last or i < iterations - 1)
  return x
