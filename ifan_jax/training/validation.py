"""Validation during training: whole images through IFAN in inference mode, scored by ifan_jax.metrics.

Every process evaluates every image (the split is small), so all hosts agree on the
best checkpoint without communicating.
"""

import functools

import jax
import numpy as np
from absl import logging

from ifan_jax import metrics
from ifan_jax.models import IFAN, IFANConfig

IMAGE_KEYS = ("blurred", "left", "right", "sharp")


@functools.partial(jax.jit, static_argnames="config")
def _predict(network_params, image, *, config: IFANConfig):
  views = (image["right"], image["left"]) if config.dual_pixel else (None, None)
  return IFAN(config).apply({"params": network_params}, image["blurred"], *views)


def _normalised(disparity):
  low, high = disparity.min(), disparity.max()
  return (disparity - low) / max(high - low, 1e-8)


def validate(network_params, images, config: IFANConfig, *, num_image_summaries: int = 0):
  """Mean metrics over `images` (dicts of `[1, H, W, 3]` arrays in [0, 1]) and a few images for TensorBoard.

  Returns `(metrics, summaries)`: metrics `psnr` and `ssim` of the model's output,
  `input_psnr` and `input_ssim` of the blurred input, `num_images` averaged, and
  `num_images_without_blur`: images whose blurred input equals the sharp one exactly
  (the input's PSNR is infinite there, which would make every mean infinite) are left
  out of the means and only counted. Summaries map `"eval/<i>/<kind>"` to `[H, W, C]`
  arrays (blurred, output, sharp, and the disparity map rescaled to [0, 1]).
  """
  network_params = jax.device_put(network_params, jax.local_devices()[0])
  totals, count, without_blur, summaries = {}, 0, [], {}
  for index, image in enumerate(images):
    arrays = {key: image[key] for key in IMAGE_KEYS if key in image}
    if np.array_equal(arrays["blurred"], arrays["sharp"]):
      without_blur.append(image.get("name", str(index)))
      continue
    outputs = _predict(network_params, arrays, config=config)
    scores = {"psnr": metrics.psnr(outputs["result"], arrays["sharp"]),
              "ssim": metrics.ssim(outputs["result"], arrays["sharp"]),
              "input_psnr": metrics.psnr(arrays["blurred"], arrays["sharp"]),
              "input_ssim": metrics.ssim(arrays["blurred"], arrays["sharp"])}
    for name, values in jax.device_get(scores).items():
      totals[name] = totals.get(name, 0.0) + float(np.sum(values))
    if count < num_image_summaries:
      summaries.update({
          f"eval/{count}/blurred": np.asarray(arrays["blurred"][0]),
          f"eval/{count}/output": np.asarray(outputs["result"][0]),
          f"eval/{count}/sharp": np.asarray(arrays["sharp"][0]),
          f"eval/{count}/disparity": _normalised(np.asarray(outputs["disparity"][0]))})
    count += len(arrays["blurred"])
  if without_blur:
    logging.warning("Validation leaves out %d images whose blurred input equals the sharp one: %s",
                    len(without_blur), ", ".join(without_blur))
  if count == 0:
    raise ValueError("The validation split yielded no image with blur to score.")
  means = {name: total / count for name, total in totals.items()}
  return means | {"num_images": count, "num_images_without_blur": len(without_blur)}, summaries
