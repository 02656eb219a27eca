"""The IAC as defined, in plain jnp: one iteration and the whole loop, the ground truth for tests.

Every other implementation (the XLA scan, the Pallas kernels) imports these definitions;
none imports another implementation.
"""

import jax.numpy as jnp
from jax import lax

from ifan_jax.ops.activation import leaky_relu
from ifan_jax.ops.iac.layout import FilterLayout


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
  layout = FilterLayout(features.shape[-1], iterations, filter_size)
  layout.check(features.shape, filters.shape)
  x = features
  for i in range(iterations):
    x = iac_step(x, *layout.passes(filters, i, compat), act=act_last or i < iterations - 1)
  return x
