"""Training augmentation of IFAN, applied identically to the blurred image, both views and the ground truth.

Per example, in this order (probabilities and ranges of the reference training):
  - Gaussian noise (p=0.05, sigma ~ U[0.001, sqrt(0.005)]), the same noise added to blurred, left
    and right (not to sharp), then clipped to [0, 1];
  - greyscale (p=0.3): sRGB-encoded luminance of weights (0.2126, 0.7152, 0.07228), on 3 channels;
  - rescaling (p=0.5) by a factor ~ U[0.7, 1.0] with area interpolation;
  - one random crop of `crop_size`.
Instead of rescaling whole images and then cropping, a window of `crop_size / factor` is cut first and
only that window is processed and resized: the same result for a fraction of the work.
"""

import dataclasses

import cv2
import numpy as np

from ifan_jax.data import srgb
from ifan_jax.io import images as images_lib

NOISE_PROBABILITY = 0.05
NOISE_SIGMA = (0.001, 0.005**0.5)
GREY_PROBABILITY = 0.3
SCALE_PROBABILITY = 0.5
SCALE_RANGE = (0.7, 1.0)
NOISY_FEATURES = ("blurred", "left", "right")  # the ground truth stays clean
_LUMINANCE = np.asarray([0.2126, 0.7152, 0.07228], np.float32)


@dataclasses.dataclass(frozen=True)
class Augmentation:
  """What to do to one example: noise sigma (0: none), greyscale, and the square window to cut and resize."""

  noise_sigma: float
  grey: bool
  top: int
  left: int
  window: int  # side of the square window cut at (top, left), then resized to the crop size
  noise_seed: int


def draw(rng: np.random.Generator, height: int, width: int, crop_size: int, augment: bool = True) -> Augmentation:
  """Draws the augmentation of an example whose images are `height x width`.

  Without `augment`, only the crop position is random. A rescale whose window would not fit the image
  uses the largest window that does (a factor of at least `crop_size / min(height, width)`).
  """
  if height < crop_size or width < crop_size:
    raise ValueError(f"crop_size {crop_size} does not fit an image of {height}x{width}.")
  noise = augment and rng.random() < NOISE_PROBABILITY
  sigma = float(rng.uniform(*NOISE_SIGMA)) if noise else 0.0
  grey = bool(augment and rng.random() < GREY_PROBABILITY)
  factor = float(rng.uniform(*SCALE_RANGE)) if augment and rng.random() < SCALE_PROBABILITY else 1.0
  window = min(round(crop_size / factor), height, width)
  return Augmentation(
    noise_sigma=sigma,
    grey=grey,
    top=int(rng.integers(0, height - window + 1)),
    left=int(rng.integers(0, width - window + 1)),
    window=window,
    noise_seed=int(rng.integers(2**31)),
  )


def to_grey(image: np.ndarray) -> np.ndarray:
  """`[H, W, 3]` in [0, 1] to its sRGB-encoded luminance, copied to 3 channels (the reference's greyscale)."""
  return np.repeat(srgb.from_linear(image @ _LUMINANCE)[..., None], 3, axis=-1)


def apply(images: dict[str, np.ndarray], aug: Augmentation, crop_size: int) -> dict[str, np.ndarray]:
  """Applies `aug` to `images` (feature -> `[H, W, 3]` uint8, uint16 or float32 in [0, 1]).

  Returns feature -> `[crop_size, crop_size, 3]` float32 in [0, 1]. Only the window is converted to float.
  """
  rows = slice(aug.top, aug.top + aug.window)
  cols = slice(aug.left, aug.left + aug.window)
  noise = None
  if aug.noise_sigma > 0:
    noise_rng = np.random.default_rng(aug.noise_seed)
    noise = noise_rng.normal(0.0, aug.noise_sigma, (aug.window, aug.window, 3)).astype(np.float32)
  out = {}
  for name, image in images.items():
    window = images_lib.to_float(image[rows, cols])
    if noise is not None and name in NOISY_FEATURES:
      window = np.clip(window + noise, 0.0, 1.0)
    if aug.grey:
      window = to_grey(window)
    if window.shape[:2] != (crop_size, crop_size):
      window = cv2.resize(window, (crop_size, crop_size), interpolation=cv2.INTER_AREA)
    out[name] = np.ascontiguousarray(window, dtype=np.float32)
  return out
