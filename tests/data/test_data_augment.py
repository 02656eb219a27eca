"""Training augmentation: probabilities and ranges, and that the four images stay aligned."""

import numpy as np
import pytest

from ifan_jax.data import augment

FEATURES = ("blurred", "left", "right", "sharp")


# The reference recipe's augmentation (the official data loader; the project's notes on the reference,
# REFERENCE.md, say the same), in this one place: the module's constants and its draws are checked
# against it.
REFERENCE = {
  "noise_probability": 0.05,
  "noise_sigma": (0.001, 0.005**0.5),  # sigma uniform in [0.001, sqrt(0.005)]
  "grey_probability": 0.3,
  "scale_probability": 0.5,
  "scale_range": (0.7, 1.0),  # factor uniform in [0.7, 1.0]
}


def _draws(n=4000, size=400, crop=256):
  rng = np.random.default_rng(0)
  return [augment.draw(rng, size, size + 100, crop) for _ in range(n)]


def test_the_constants_are_the_reference_recipe():
  constants = {
    "noise_probability": augment.NOISE_PROBABILITY,
    "noise_sigma": augment.NOISE_SIGMA,
    "grey_probability": augment.GREY_PROBABILITY,
    "scale_probability": augment.SCALE_PROBABILITY,
    "scale_range": augment.SCALE_RANGE,
  }
  assert constants == REFERENCE


def _assert_frequency(hits, n, p):
  """`hits` of `n` draws agree with probability `p` within 4 binomial standard deviations."""
  assert abs(hits / n - p) < 4 * np.sqrt(p * (1 - p) / n), (hits / n, p)


def test_probabilities_and_ranges_match_the_reference():
  draws = _draws()
  n, crop = len(draws), 256
  noisy = [d.noise_sigma for d in draws if d.noise_sigma > 0]
  scaled = [crop / d.window for d in draws if d.window != crop]
  _assert_frequency(len(noisy), n, REFERENCE["noise_probability"])
  _assert_frequency(sum(d.grey for d in draws), n, REFERENCE["grey_probability"])
  # A factor above crop / (crop + 0.5) rounds to the crop's own window: no rescale (0.65 % of the range).
  low, high = REFERENCE["scale_range"]
  unchanged = (high - crop / (crop + 0.5)) / (high - low)
  _assert_frequency(len(scaled), n, REFERENCE["scale_probability"] * (1 - unchanged))
  assert REFERENCE["noise_sigma"][0] <= min(noisy) and max(noisy) <= REFERENCE["noise_sigma"][1]
  # The window is a whole number of pixels: crop / round(crop / factor).
  assert crop / round(crop / low) <= min(scaled) < low + 0.02 and high - 0.02 < max(scaled) <= high
  assert all(0 <= d.top <= 400 - d.window and 0 <= d.left <= 500 - d.window for d in draws)


def test_without_augment_only_the_crop_is_random():
  rng = np.random.default_rng(1)
  draws = [augment.draw(rng, 300, 300, 256, augment=False) for _ in range(200)]
  assert all(d.noise_sigma == 0 and not d.grey and d.window == 256 for d in draws)
  assert len({(d.top, d.left) for d in draws}) > 100


def test_window_larger_than_the_image_is_capped_and_crop_must_fit():
  rng = np.random.default_rng(2)
  assert max(augment.draw(rng, 260, 300, 256).window for _ in range(200)) == 260
  with pytest.raises(ValueError, match="crop_size 256 does not fit an image of 200x300"):
    augment.draw(rng, 200, 300, 256)


def _coordinates(h=120, w=150):
  """An image whose pixels hold their own (row, column) scaled into [0, 1], and 0.5 in blue."""
  y, x = np.mgrid[0:h, 0:w].astype(np.float32)
  return np.stack([y / h, x / w, np.full_like(x, 0.5)], axis=-1)


@pytest.mark.parametrize("window", [64, 91])
def test_crop_and_rescale_geometry(window):
  image = _coordinates()
  aug = augment.Augmentation(noise_sigma=0.0, grey=False, top=10, left=30, window=window, noise_seed=0)
  out = augment.apply({f: image for f in FEATURES}, aug, 64)
  for f in FEATURES:
    assert out[f].shape == (64, 64, 3) and out[f].dtype == np.float32
    np.testing.assert_array_equal(out[f], out["sharp"])
  # Area resizing averages pixel blocks: the output covers exactly rows 10..10+window, columns 30..30+window.
  np.testing.assert_allclose(out["sharp"][..., 0].mean() * 120, 10 + (window - 1) / 2, atol=1e-3)
  np.testing.assert_allclose(out["sharp"][..., 1].mean() * 150, 30 + (window - 1) / 2, atol=1e-3)
  np.testing.assert_allclose(out["sharp"][0, 0, :2] * [120, 150], [10, 30], atol=window / 64)


def test_noise_is_shared_by_the_inputs_and_spares_the_ground_truth():
  image = np.full((40, 40, 3), 0.5, np.float32)
  aug = augment.Augmentation(noise_sigma=0.05, grey=False, top=0, left=0, window=32, noise_seed=3)
  out = augment.apply({f: image for f in FEATURES}, aug, 32)
  np.testing.assert_array_equal(out["sharp"], 0.5)
  np.testing.assert_array_equal(out["blurred"], out["left"])
  np.testing.assert_array_equal(out["blurred"], out["right"])
  assert 0.04 < np.std(out["blurred"] - 0.5) < 0.06


def test_greyscale_is_srgb_encoded_luminance_on_every_image():
  image = np.zeros((8, 8, 3), np.float32)
  image[..., 1] = 1.0  # pure green: linear luminance 0.7152
  aug = augment.Augmentation(noise_sigma=0.0, grey=True, top=0, left=0, window=8, noise_seed=0)
  out = augment.apply({f: image for f in FEATURES}, aug, 8)
  expected = 1.055 * 0.7152 ** (1 / 2.4) - 0.055
  for f in FEATURES:
    np.testing.assert_allclose(out[f], expected, rtol=1e-5)
  dark = np.full((1, 1, 3), 0.001, np.float32)
  np.testing.assert_allclose(augment.to_grey(dark), 12.92 * 0.001 * (0.2126 + 0.7152 + 0.07228), rtol=1e-5)


def test_integer_sources_are_converted_to_unit_range():
  image = np.full((16, 16, 3), 65535, np.uint16)
  aug = augment.Augmentation(noise_sigma=0.0, grey=False, top=0, left=0, window=16, noise_seed=0)
  np.testing.assert_array_equal(augment.apply({"sharp": image}, aug, 16)["sharp"], 1.0)
