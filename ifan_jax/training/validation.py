"""Validation during training: whole images through the `Deblurrer`, scored by the evaluation metrics.

Every process evaluates every image (the split is small), so all hosts agree on the best
checkpoint without communicating.
"""

import numpy as np
from absl import logging

from ifan_jax.evaluation import metrics, protocol
from ifan_jax.inference.deblurrer import Deblurrer
from ifan_jax.models import IFANConfig


def _normalised(disparity):
  low, high = disparity.min(), disparity.max()
  return (disparity - low) / max(high - low, 1e-8)


def validate(network_params, images, config: IFANConfig, *, num_image_summaries: int = 0):
  """Mean metrics over `images` (dicts of `[1, H, W, 3]` arrays in [0, 1]) and a few images for TensorBoard.

  Returns `(metrics, summaries)`: metrics `psnr` and `ssim` of the model's output, `input_psnr`
  and `input_ssim` of the blurred input, `num_images` averaged, `worst_gain` (the lowest
  PSNR gain over the input, dB) and `worst_image` (its name), and `num_images_without_blur`:
  images whose blurred input equals the sharp one exactly (the input's PSNR is infinite
  there, which would make every mean infinite) are left out of the means and only counted.
  Summaries map `"eval/<i>/<kind>"` to `[H, W, C]` arrays (blurred, output, sharp, and the
  disparity map rescaled to [0, 1]).
  """
  deblurrer = Deblurrer(config, network_params)
  scores, without_blur, summaries = [], [], {}
  for index, image in enumerate(images):
    name = image.get("name", str(index))
    blurred, sharp = image["blurred"][0], image["sharp"][0]
    if np.array_equal(blurred, sharp):
      without_blur.append(name)
      continue
    outputs = protocol.predict(deblurrer, image)
    measures = {"psnr": metrics.psnr, "ssim": metrics.ssim}
    scores.append({"name": name, **protocol.scores_against_sharp(outputs["result"], blurred, sharp, measures)})
    if len(scores) <= num_image_summaries:
      at = f"eval/{len(scores) - 1}"
      summaries.update(
        {
          f"{at}/blurred": blurred,
          f"{at}/output": outputs["result"],
          f"{at}/sharp": sharp,
          f"{at}/disparity": _normalised(outputs["disparity"])[..., None],
        }
      )
  if without_blur:
    logging.warning(
      "Validation leaves out %d images whose blurred input equals the sharp one: %s",
      len(without_blur),
      ", ".join(without_blur),
    )
  if not scores:
    raise ValueError("The validation split yielded no image with blur to score.")
  means = {key: float(np.mean([s[key] for s in scores])) for key in ("psnr", "ssim", "input_psnr", "input_ssim")}
  worst = min(scores, key=lambda s: s["psnr"] - s["input_psnr"])
  return means | {
    "num_images": len(scores),
    "num_images_without_blur": len(without_blur),
    "worst_gain": worst["psnr"] - worst["input_psnr"],
    "worst_image": worst["name"],
  }, summaries
