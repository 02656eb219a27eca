"""Iterative adaptive convolution (IAC): per-pixel separable filters, applied N times.

Layout (NHWC). Features are `[B, H, W, C]`. Filters are `[B, H, W, N*C*k*2 + N*C]`
in the reference's channel order: N groups of `2*C*k` channels, each split into a
vertical kernel and a horizontal kernel of `C*k` channels laid out channel-major
(channel j's k taps at `[j*k, (j+1)*k)`), followed by N biases of C channels.

One iteration: a vertical k-tap pass, a horizontal k-tap pass (both with replicate
padding), plus the bias, then LeakyReLU(0.1) (skipped after the last iteration when
`act_last=False`). `compat=True` reproduces the published checkpoints, whose
horizontal pass reuses the vertical kernel.
"""

from typing import Literal

import jax
import jax.numpy as jnp
from jax import lax

from ifan_jax.ops import iac_layout

Impl = Literal["auto", "xla", "reference"]

NEGATIVE_SLOPE = 0.1


def _leaky_relu(x):
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
  return _leaky_relu(x) if act else x


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


def iterate(features, per_iteration, xs, *, iterations, act_last):
  """Runs `iterations` IAC steps under `lax.scan`, so compile time does not grow with N.

  `per_iteration(x_i)` maps one slice of `xs` to `(vertical, horizontal, bias)`. All
  iterations but the last apply the activation; the last is peeled off so that
  `act_last` stays a static choice.
  """

  def body(x, x_i):
    return iac_step(x, *per_iteration(x_i), act=True), None

  head = jax.tree.map(lambda a: a[:-1], xs)
  last = jax.tree.map(lambda a: a[-1], xs)
  x, _ = lax.scan(body, features, head, length=iterations - 1)
  return iac_step(x, *per_iteration(last), act=act_last)


def iac_xla(features, filters, *, iterations, filter_size, compat=False, act_last=True):
  """IAC as one `lax.scan` over iterations; filters are regrouped once, iteration-major."""
  c, k = features.shape[-1], filter_size
  iac_layout.check_shapes(features.shape, filters.shape, iterations, k)
  kernels, biases = iac_layout.split_iteration_major(filters, iterations, c, k)

  def per_iteration(x_i):
    kernel, bias = x_i
    return kernel[..., 0, :, :], kernel[..., 0 if compat else 1, :, :], bias

  return iterate(features, per_iteration, (kernels, biases),
                 iterations=iterations, act_last=act_last)


def iac(features, filters, *, iterations, filter_size, compat=False, act_last=True,
        impl: Impl = "auto"):
  """Applies IAC. `impl`: "xla" (scan, the default under "auto") or "reference"."""
  kwargs = dict(iterations=iterations, filter_size=filter_size, compat=compat, act_last=act_last)
  if impl in ("auto", "xla"):
    return iac_xla(features, filters, **kwargs)
  if impl == "reference":
    return iac_reference(features, filters, **kwargs)
  raise ValueError(f"Unknown IAC impl {impl!r}; expected 'auto', 'xla' or 'reference'.")


def iac_fused(features, predictor_features, head_kernel, head_bias, *, iterations, filter_size,
              compat=False, act_last=True):
  """IAC whose filters come from a 1x1 conv head, computed one iteration at a time.

  Equals `iac(features, predictor_features @ head_kernel + head_bias, ...)` but never
  materialises the `N*(2Ck) + N*C`-channel filter tensor (1.8 GB at 1680x1120 for the
  default model): each scan step runs the head's columns for its own iteration.
  `head_kernel` is `[D, N*(2Ck) + N*C]` in the reference's channel order.
  """
  c, k = features.shape[-1], filter_size
  iac_layout.check_shapes(features.shape, (*features.shape[:3], head_kernel.shape[-1]), iterations, k)
  weights, biases = iac_layout.head_iteration_major(head_kernel, head_bias, iterations, c, k, compat)
  lead = features.shape[:3]

  def per_iteration(x_i):
    weight, bias = x_i
    out = jnp.dot(predictor_features, weight) + bias
    vertical = out[..., :k * c].reshape(*lead, k, c)
    horizontal = vertical if compat else out[..., k * c:2 * k * c].reshape(*lead, k, c)
    return vertical, horizontal, out[..., -c:]

  return iterate(features, per_iteration, (weights, biases), iterations=iterations, act_last=act_last)
