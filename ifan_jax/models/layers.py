"""Building blocks of IFAN (NHWC): convolutions, residual blocks, the 2x upsampler, trunks.

Submodule names are explicit and stable: `ifan_jax.convert` maps the official PyTorch
parameter names onto them.
"""

from typing import Any

import dm_pix
import flax.linen as nn
import jax.numpy as jnp
from jax import lax

from ifan_jax.ops.activation import leaky_relu


def xavier_uniform(gain: float):
  """PyTorch's `xavier_uniform_(w, gain)`: bound = gain * sqrt(6 / (fan_in + fan_out))."""
  return nn.initializers.variance_scaling(gain**2, "fan_avg", "uniform")


class Conv(nn.Module):
  """`k x k` convolution with zero padding (k-1)/2 and bias, optionally followed by LeakyReLU(0.1)."""

  features: int
  kernel_size: int = 3
  stride: int = 1
  act: bool = True
  gain: float = 1.0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    pad = (self.kernel_size - 1) // 2
    x = nn.Conv(
      self.features,
      (self.kernel_size,) * 2,
      strides=self.stride,
      padding=((pad, pad), (pad, pad)),
      kernel_init=xavier_uniform(self.gain),
      dtype=self.dtype,
      name="conv",
    )(x)
    return leaky_relu(x) if self.act else x


class ResBlock(nn.Module):
  """`res_num` units of `x = lrelu(x + conv(lrelu(conv(x))))`, plus the block input when res_num > 1."""

  res_num: int
  kernel_size: int = 3
  gain: float = 1.0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    block_input = x
    channels = x.shape[-1]
    for i in range(self.res_num):
      y = Conv(channels, self.kernel_size, gain=self.gain, dtype=self.dtype, name=f"unit{i}_a")(x)
      y = Conv(channels, self.kernel_size, act=False, gain=self.gain, dtype=self.dtype, name=f"unit{i}_b")(y)
      x = leaky_relu(x + y)
    return x + block_input if self.res_num > 1 else x


# Transposed conv (k=4, stride 2, padding 1) split into its four output phases: output
# row 2m+r reads input rows m-1, m with taps 3, 1 (r=0) or rows m, m+1 with taps 2, 0
# (r=1). On the input padded by one, both are 2-row windows, starting at padded row m+r.
_PHASE_TAPS = ((3, 1), (2, 0))


class UpConv(nn.Module):
  """PyTorch's `ConvTranspose2d(k=4, stride=2, padding=1)` + LeakyReLU(0.1): exact 2x upsampling.

  `kernel` is `[4, 4, in, out]`, the PyTorch weight `(in, out, kh, kw)` with its axes
  moved, not flipped. Rather than convolving a zero-dilated input (4x the work, 3/4
  of it on zeros), one 2x2 convolution computes all four sub-pixel phases at input
  resolution (the minimal 16 MACs per input pixel and channel pair), then interleaves them.
  """

  features: int
  gain: float = 1.0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    kernel = self.param("kernel", xavier_uniform(self.gain), (4, 4, x.shape[-1], self.features))
    bias = self.param("bias", nn.initializers.zeros, (self.features,))
    y = upconv_phases(x, kernel, self.dtype)
    b, h, w = x.shape[:3]
    return interleave_phases([y[:, ry : ry + h, rx : rx + w, ry, rx] for ry in range(2) for rx in range(2)], bias)


def upconv_phases(x, kernel, dtype):
  """The four sub-pixel phases of `UpConv` at input resolution, `[B, H + 1, W + 1, 2, 2, O]`.

  Phase (ry, rx) of input pixel (m, n) is output pixel (2m + ry, 2n + rx); its window starts at
  padded (m + ry, n + rx), so it lies at `[:, m + ry, n + rx, ry, rx]`.
  """
  in_features, features = kernel.shape[2:]
  phase_kernel = _phase_kernel(kernel).reshape(2, 2, in_features, 4 * features)
  y = lax.conv_general_dilated(
    x.astype(dtype),
    phase_kernel.astype(dtype),
    window_strides=(1, 1),
    padding=((1, 1), (1, 1)),
    dimension_numbers=("NHWC", "HWIO", "NHWC"),
  )
  b, h, w = x.shape[:3]
  return y.reshape(b, h + 1, w + 1, 2, 2, features)


def interleave_phases(phases, bias):
  """The four `[B, H, W, O]` phases, in (ry, rx) order, to `UpConv`'s `[B, 2H, 2W, O]` output (+ bias, LeakyReLU)."""
  phases = jnp.concatenate(phases, axis=-1)
  return leaky_relu(dm_pix.depth_to_space(phases, 2) + bias.astype(phases.dtype))


def _phase_kernel(kernel):
  """`[4, 4, I, O]` transposed-conv taps -> `[2, 2, I, 2, 2, O]` (window row, col, in, phase row, col, out)."""
  rows = jnp.asarray(_PHASE_TAPS)  # [phase, window offset] -> tap
  taps = kernel[rows[:, :, None, None], rows[None, None, :, :]]  # [ry, dy, rx, dx, I, O]
  return taps.transpose(1, 3, 4, 0, 2, 5)


class Encoder(nn.Module):
  """Three convolutions per scale at 1, 1/2, 1/4, 1/8 resolution (stride 2 opens each new scale)."""

  channels: int
  kernel_size: int = 3
  gain: float = 1.0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    widths = (self.channels, 2 * self.channels, 4 * self.channels, 4 * self.channels)
    features = []
    for scale, width in enumerate(widths, start=1):
      for j in range(1, 4):
        stride = 2 if scale > 1 and j == 1 else 1
        x = Conv(width, self.kernel_size, stride, gain=self.gain, dtype=self.dtype, name=f"conv{scale}_{j}")(x)
      features.append(x)
    return features


class Trunk(nn.Module):
  """conv -> `num_blocks` residual blocks -> optional conv (`out_features`, activation `act_out`)."""

  features: int
  num_blocks: int = 2
  res_num: int = 2
  out_features: int | None = None
  act_out: bool = True
  kernel_size: int = 3
  out_kernel_size: int | None = None  # Defaults to kernel_size; the reference fixes 3 in places.
  gain: float = 1.0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    x = Conv(self.features, self.kernel_size, gain=self.gain, dtype=self.dtype, name="conv_in")(x)
    for i in range(self.num_blocks):
      x = ResBlock(self.res_num, self.kernel_size, gain=self.gain, dtype=self.dtype, name=f"block{i}")(x)
    if self.out_features is not None:
      x = Conv(
        self.out_features,
        self.out_kernel_size or self.kernel_size,
        act=self.act_out,
        gain=self.gain,
        dtype=self.dtype,
        name="conv_out",
      )(x)
    return x
