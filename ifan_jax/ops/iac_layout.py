"""Channel layout of IAC filters: the reference's order and the iteration-major order we compute in.

The reference packs, per pixel, N groups of `[vertical (C*k), horizontal (C*k)]`
channel-major taps, then N biases of C channels. Our kernels want taps as
`[..., k, C]` (tap-major, channels last) and iterations on a leading axis that
`lax.scan` can walk.
"""

import jax.numpy as jnp


def filter_channels(channels, iterations, filter_size):
  """Number of filter channels the reference predicts: N*(2*C*k) + N*C."""
  return iterations * (2 * channels * filter_size + channels)


def check_shapes(features_shape, filters_shape, iterations, filter_size):
  """Raises a ValueError naming the offending value when IAC inputs do not fit together."""
  if filter_size < 1 or filter_size % 2 == 0:
    raise ValueError(f"IAC filter_size must be a positive odd number, got {filter_size}.")
  if iterations < 1:
    raise ValueError(f"IAC iterations must be at least 1, got {iterations}.")
  if len(features_shape) != 4 or len(filters_shape) != 4:
    raise ValueError(f"IAC expects NHWC features and filters, got {features_shape=} and {filters_shape=}.")
  if tuple(features_shape[:3]) != tuple(filters_shape[:3]):
    raise ValueError(f"IAC features {features_shape} and filters {filters_shape} differ in batch or size.")
  expected = filter_channels(features_shape[-1], iterations, filter_size)
  if filters_shape[-1] != expected:
    raise ValueError(
        f"IAC filters have {filters_shape[-1]} channels; N={iterations}, k={filter_size} and "
        f"C={features_shape[-1]} need N*(2*C*k) + N*C = {expected}.")


def taps_last_to_kc(taps, channels, filter_size):
  """`[..., C*k]` channel-major taps -> `[..., k, C]`."""
  lead = taps.shape[:-1]
  return taps.reshape(*lead, channels, filter_size).swapaxes(-1, -2)


def split_iteration_major(filters, iterations, channels, filter_size):
  """`[B, H, W, N*(2Ck) + N*C]` -> kernels `[N, B, H, W, 2, k, C]` and biases `[N, B, H, W, C]`.

  One transposition of the filter tensor, done once, so that each scan step reads a
  contiguous slab.
  """
  b, h, w, _ = filters.shape
  n, c, k = iterations, channels, filter_size
  kernels = filters[..., :n * 2 * c * k].reshape(b, h, w, n, 2, c, k)
  kernels = kernels.transpose(3, 0, 1, 2, 4, 6, 5)
  biases = filters[..., n * 2 * c * k:].reshape(b, h, w, n, c).transpose(3, 0, 1, 2, 4)
  return kernels, biases


def head_iteration_major(kernel, bias, iterations, channels, filter_size, compat):
  """Regroups a 1x1 filter-head conv (`kernel [D, total]`, `bias [total]`) by iteration.

  Returns `weights [N, D, m]` and `biases [N, m]` whose `m` output channels are, per
  iteration, the vertical taps `[k, C]`, then (unless `compat`, where they are never
  used) the horizontal taps `[k, C]`, then the bias `[C]`.
  """
  n, c, k = iterations, channels, filter_size
  d = kernel.shape[0]
  passes = 1 if compat else 2
  taps_w = kernel[:, :n * 2 * c * k].reshape(d, n, 2, c, k)[:, :, :passes]
  taps_w = taps_w.swapaxes(-1, -2).transpose(1, 0, 2, 3, 4).reshape(n, d, passes * k * c)
  taps_b = bias[:n * 2 * c * k].reshape(n, 2, c, k)[:, :passes].swapaxes(-1, -2).reshape(n, passes * k * c)
  bias_w = kernel[:, n * 2 * c * k:].reshape(d, n, c).transpose(1, 0, 2)
  bias_b = bias[n * 2 * c * k:].reshape(n, c)
  return (jnp.concatenate([taps_w, bias_w], axis=-1), jnp.concatenate([taps_b, bias_b], axis=-1))
