"""Training augmentation: probabilities and ranges, and that the four images stay aligned."""

import numpy as np
import pytest

from ifan_jax.data import augment

FEATURES = ("blurred", "left", "right", "sharp")


def _draws(n=4000, size=400, crop=256):
  rng = np.random.default_rng(0)
  return [augment.draw(rng, size, size + 100, crop) for _ in range(n)]


def test_probabilities_and_ranges_match_the_reference():
  draws = _draws()
  n = len(draws)
  noisy = [d.noise_sigma for d in draws if d.noise_sigma > 0]
  scaled = [256 / d.window for d in draws if d.window != 256]
  # Binomial standard deviations: 0.0034, 0.0072, 0.0079; the bounds are about 4 of them.
  assert abs(len(noisy) / n - 0.05) < 0.015
  assert abs(np.mean([d.grey for d in draws]) - 0.3) < 0.03
  assert abs(len(scaled) / n - 0.5) < 0.03
  assert min(noisy) >= 0.001 and max(noisy) <= 0.005**0.5
  assert 0.69 < min(scaled) < 0.72 and 0.98 < max(scaled) <= 1.0
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
