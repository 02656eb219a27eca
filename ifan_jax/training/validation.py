"""Validation during training: whole images through IFAN in inference mode, PSNR against the sharp image.

Every process evaluates every image (the split is small), so all hosts agree on the
best checkpoint without communicating.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ifan_jax.models import IFAN, IFANConfig


def psnr(x, y):
  """Per-image PSNR in dB of `[B, H, W, C]` images in [0, 1]: 10 log10(1 / MSE)."""
  mse = jnp.mean(jnp.square(jnp.asarray(x, jnp.float32) - jnp.asarray(y, jnp.float32)), axis=(1, 2, 3))
  return -10.0 * jnp.log10(mse)


@functools.partial(jax.jit, static_argnames="config")
def _evaluate_image(network_params, image, *, config: IFANConfig):
  views = (image["right"], image["left"]) if config.dual_pixel else (None, None)
  outputs = IFAN(config).apply({"params": network_params}, image["blurred"], *views)
  return outputs, {"psnr": psnr(outputs["result"], image["sharp"]),
                   "input_psnr": psnr(image["blurred"], image["sharp"])}


def _normalised(disparity):
  low, high = disparity.min(), disparity.max()
  return (disparity - low) / max(high - low, 1e-8)


def validate(network_params, images, config: IFANConfig, *, num_image_summaries: int = 0):
  """Mean metrics over `images` (dicts of `[1, H, W, 3]` arrays) and a few images for TensorBoard.

  Returns `(metrics, summaries)`: metrics `psnr` (the model's output), `input_psnr`
  (the blurred input) and `num_images`; summaries map `"eval/<i>/<kind>"` to `[H, W, C]`
  arrays (blurred, output, sharp, and the disparity map rescaled to [0, 1]).
  """
  network_params = jax.device_put(network_params, jax.local_devices()[0])
  totals, count, summaries = {}, 0, {}
  for index, image in enumerate(images):
    arrays = {key: image[key] for key in ("blurred", "left", "right", "sharp") if key in image}
    outputs, metrics = _evaluate_image(network_params, arrays, config=config)
    for name, value in jax.device_get(metrics).items():
      totals[name] = totals.get(name, 0.0) + float(np.sum(value))
    count += len(image["blurred"])
    if index < num_image_summaries:
      summaries.update({
          f"eval/{index}/blurred": np.asarray(image["blurred"][0]),
          f"eval/{index}/output": np.asarray(outputs["result"][0]),
          f"eval/{index}/sharp": np.asarray(image["sharp"][0]),
          f"eval/{index}/disparity": _normalised(np.asarray(outputs["disparity"][0]))})
  if count == 0:
    raise ValueError("The validation split yielded no images.")
  return {name: total / count for name, total in totals.items()} | {"num_images": count}, summaries
