"""Validation during training: the means it reports, and images without blur."""

import numpy as np
import pytest

from ifan_jax import IFAN
from ifan_jax.evaluation import metrics
from ifan_jax.training import validation
from tests.conftest import TINY_CONFIG, xavier_params
from tests.training.fake_data import example


def _image(index, size=(24, 32)):
  h, w = size
  return {key: value[None, :h, :w] for key, value in example(7, 0, index, max(size)).items()} | {
    "name": f"image{index}"
  }


def test_means_over_images_and_blur_free_images_left_out():
  params = xavier_params(TINY_CONFIG)
  images = [_image(0), _image(1)]
  sharp_only = _image(2)
  sharp_only["blurred"] = sharp_only["sharp"].copy()
  scores, summaries = validation.validate(
    params, images[:1] + [sharp_only] + images[1:], TINY_CONFIG, num_image_summaries=1
  )

  outputs = [IFAN(TINY_CONFIG).apply({"params": params}, image["blurred"])["result"] for image in images]
  expected_psnr = np.mean([metrics.psnr(o, image["sharp"]) for o, image in zip(outputs, images)])
  expected_input = np.mean([metrics.psnr(image["blurred"], image["sharp"]) for image in images])
  assert scores["psnr"] == pytest.approx(expected_psnr, rel=1e-5)
  assert scores["input_psnr"] == pytest.approx(expected_input, rel=1e-5)
  assert 0 < scores["ssim"] <= 1 and 0 < scores["input_ssim"] <= 1
  assert (scores["num_images"], scores["num_images_without_blur"]) == (2, 1)
  assert sorted(summaries) == [f"eval/0/{kind}" for kind in ("blurred", "disparity", "output", "sharp")]
  disparity = summaries["eval/0/disparity"]
  assert disparity.shape == (3, 4, 1) and disparity.min() == 0 and disparity.max() == pytest.approx(1)


def test_a_split_without_any_blurred_image_is_an_error():
  image = _image(0)
  image["blurred"] = image["sharp"]
  with pytest.raises(ValueError, match="no image with blur"):
    validation.validate(xavier_params(TINY_CONFIG), [image], TINY_CONFIG)
