"""Where each IAC filter value lives: the one definition of the filter-channel layout.

The reference packs, per pixel, N groups of `[vertical (C*k), horizontal (C*k)]` taps
laid out channel-major (channel j's k taps at `[j*k, (j+1)*k)`), then N biases of C
channels: `N*(2*C*k) + N*C` channels in all. Every implementation, the checkpoint
converter and the benchmarks read that order through `FilterLayout`; the XLA scan and
the fused filter head regroup it iteration-major, tap-major (`[..., k, C]`), and the
Pallas kernels address it through `Addressing`.
"""

import dataclasses

import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class Addressing:
  """Column of a filter value in a pixel's row, for kernels that gather single values.

  Vertical tap t of channel c of iteration i is at `i*iteration_stride + c*channel_stride
  + t*tap_stride`, the horizontal one `horizontal_offset` further (0 in compat mode: the
  same taps), the bias at `bias_offset + i*bias_iteration_stride + c`. `width` is the row.
  """

  width: int
  channel_stride: int
  tap_stride: int
  iteration_stride: int
  horizontal_offset: int
  bias_offset: int
  bias_iteration_stride: int


@dataclasses.dataclass(frozen=True)
class FilterLayout:
  """The filters of an IAC over `channels` features, `iterations` times, with `filter_size` taps."""

  channels: int
  iterations: int
  filter_size: int

  def __post_init__(self):
    if self.filter_size < 1 or self.filter_size % 2 == 0:
      raise ValueError(f"IAC filter_size must be a positive odd number, got {self.filter_size}.")
    if self.iterations < 1:
      raise ValueError(f"IAC iterations must be at least 1, got {self.iterations}.")
    if self.channels < 1:
      raise ValueError(f"IAC channels must be at least 1, got {self.channels}.")

  @property
  def taps(self) -> int:
    """Values of one separable pass: C*k."""
    return self.channels * self.filter_size

  @property
  def per_iteration(self) -> int:
    """Values one iteration reads per pixel: both passes and the bias, 2*C*k + C."""
    return 2 * self.taps + self.channels

  @property
  def total(self) -> int:
    """Filter channels per pixel: N*(2*C*k) + N*C (15,232 for IFAN's default model)."""
    return self.iterations * self.per_iteration

  @property
  def bias_offset(self) -> int:
    return self.iterations * 2 * self.taps

  @classmethod
  def from_total(cls, total: int, channels: int, filter_size: int, what: str = "the filters") -> "FilterLayout":
    """The layout with `total` channels for C and k: recovers N, as checkpoint shapes only show the total."""
    per_iteration = channels * (2 * filter_size + 1)
    if total % per_iteration:
      raise ValueError(
        f"{what} has {total} channels, not a multiple of C*(2k+1) = {per_iteration} for C={channels}, k={filter_size}"
      )
    return cls(channels, total // per_iteration, filter_size)

  def check(self, features_shape, filters_shape):
    """Raises a ValueError naming the offending value when IAC inputs do not fit this layout."""
    if len(features_shape) != 4 or len(filters_shape) != 4:
      raise ValueError(f"IAC expects NHWC features and filters, got {features_shape=} and {filters_shape=}.")
    if tuple(features_shape[:3]) != tuple(filters_shape[:3]):
      raise ValueError(f"IAC features {features_shape} and filters {filters_shape} differ in batch or size.")
    if features_shape[-1] != self.channels:
      raise ValueError(f"IAC features have {features_shape[-1]} channels, this layout {self.channels}.")
    if filters_shape[-1] != self.total:
      raise ValueError(
        f"IAC filters have {filters_shape[-1]} channels; N={self.iterations}, k={self.filter_size} and "
        f"C={self.channels} need N*(2*C*k) + N*C = {self.total}."
      )

  def passes(self, filters, i, compat):
    """Iteration i's `(vertical, horizontal, bias)` of `[..., total]` filters: `[..., k, C]` taps, `[..., C]`."""
    start = i * 2 * self.taps
    vertical = _taps_kc(filters[..., start : start + self.taps], self.channels, self.filter_size)
    horizontal = (
      vertical
      if compat
      else _taps_kc(filters[..., start + self.taps : start + 2 * self.taps], self.channels, self.filter_size)
    )
    bias_start = self.bias_offset + i * self.channels
    return vertical, horizontal, filters[..., bias_start : bias_start + self.channels]

  def split_iteration_major(self, filters):
    """`[B, H, W, total]` -> kernels `[N, B, H, W, 2, k, C]` and biases `[N, B, H, W, C]`.

    One transposition of the filter tensor, done once, so that each scan step reads a
    contiguous slab.
    """
    b, h, w, _ = filters.shape
    n, c, k = self.iterations, self.channels, self.filter_size
    kernels = filters[..., : self.bias_offset].reshape(b, h, w, n, 2, c, k).transpose(3, 0, 1, 2, 4, 6, 5)
    biases = filters[..., self.bias_offset :].reshape(b, h, w, n, c).transpose(3, 0, 1, 2, 4)
    return kernels, biases

  def head_width(self, compat) -> int:
    """Columns of one iteration of the fused head: the taps it uses (one pass in compat mode) and the bias."""
    return (1 if compat else 2) * self.taps + self.channels

  def head_iteration_major(self, kernel, bias, compat):
    """Regroups a 1x1 filter-head conv (`kernel [D, total]`, `bias [total]`) by iteration.

    Returns `weights [N, D, head_width]` and `biases [N, head_width]` whose columns are, per
    iteration, the vertical taps `[k, C]`, then (unless `compat`, where they are never used)
    the horizontal taps `[k, C]`, then the bias `[C]`.
    """
    n, c, k = self.iterations, self.channels, self.filter_size
    d = kernel.shape[0]
    passes = 1 if compat else 2
    taps_w = kernel[:, : self.bias_offset].reshape(d, n, 2, c, k)[:, :, :passes]
    taps_w = taps_w.swapaxes(-1, -2).transpose(1, 0, 2, 3, 4).reshape(n, d, passes * self.taps)
    taps_b = bias[: self.bias_offset].reshape(n, 2, c, k)[:, :passes].swapaxes(-1, -2).reshape(n, passes * self.taps)
    bias_w = kernel[:, self.bias_offset :].reshape(d, n, c).transpose(1, 0, 2)
    bias_b = bias[self.bias_offset :].reshape(n, c)
    return jnp.concatenate([taps_w, bias_w], axis=-1), jnp.concatenate([taps_b, bias_b], axis=-1)

  def head_passes(self, slab, compat):
    """`(vertical, horizontal, bias)` of one iteration's head columns `[..., head_width]`."""
    lead, k, c = slab.shape[:-1], self.filter_size, self.channels
    vertical = slab[..., : self.taps].reshape(*lead, k, c)
    horizontal = vertical if compat else slab[..., self.taps : 2 * self.taps].reshape(*lead, k, c)
    return vertical, horizontal, slab[..., -c:]

  def addressing(self, compat) -> Addressing:
    """The reference order, as single-value addresses."""
    return Addressing(
      width=self.total,
      channel_stride=self.filter_size,
      tap_stride=1,
      iteration_stride=2 * self.taps,
      horizontal_offset=0 if compat else self.taps,
      bias_offset=self.bias_offset,
      bias_iteration_stride=self.channels,
    )

  def head_addressing(self, compat) -> Addressing:
    """One iteration's head columns (`head_iteration_major`), as single-value addresses: tap-major."""
    return Addressing(
      width=self.head_width(compat),
      channel_stride=1,
      tap_stride=self.channels,
      iteration_stride=0,
      horizontal_offset=0 if compat else self.taps,
      bias_offset=self.head_width(compat) - self.channels,
      bias_iteration_stride=0,
    )


def _taps_kc(taps, channels, filter_size):
  """`[..., C*k]` channel-major taps -> `[..., k, C]`."""
  return taps.reshape(*taps.shape[:-1], channels, filter_size).swapaxes(-1, -2)
