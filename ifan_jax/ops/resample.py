"""Resampling used by IFAN's training branches: 1/8 downsampling and the disparity warp (NHWC)."""

import jax.numpy as jnp


def _check_divisible(x, factor, what):
  h, w = x.shape[-3:-1]
  if h % factor or w % factor:
    raise ValueError(f"{what} needs height and width divisible by {factor}, got {h}x{w}.")


def area_downsample(x, factor):
  """Mean over `factor x factor` blocks: PyTorch's `interpolate(mode='area')` at 1/factor."""
  _check_divisible(x, factor, "area_downsample")
  *lead, h, w, c = x.shape
  return x.reshape(*lead, h // factor, factor, w // factor, factor, c).mean(axis=(-4, -2))


def nearest_downsample(x, factor):
  """Every `factor`-th pixel from the top-left one: PyTorch's default `interpolate` at 1/factor."""
  _check_divisible(x, factor, "nearest_downsample")
  return x[..., ::factor, ::factor, :]


def warp_horizontal(image, disparity):
  """Samples `image [B, H, W, C]` at `(y, x + disparity)`, bilinear, zero outside the image.

  `disparity` is `[B, H, W, 1]` in pixels of `image`. This is `grid_sample` with
  `align_corners=True` and zero padding on a grid shifted only along x, which is how
  the reference warps the right view onto the left one.
  """
  width = image.shape[2]
  x = jnp.arange(width, dtype=image.dtype)[None, None, :] + disparity[..., 0]
  x0 = jnp.floor(x)
  frac = (x - x0)[..., None]
  x0 = x0.astype(jnp.int32)

  def gather(ix):
    valid = ((ix >= 0) & (ix < width))[..., None]
    taken = jnp.take_along_axis(image, jnp.clip(ix, 0, width - 1)[..., None], axis=2)
    return jnp.where(valid, taken, 0)

  return gather(x0) * (1 - frac) + gather(x0 + 1) * frac
