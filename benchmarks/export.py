r"""Exported models against `Deblurrer`: file size, export seconds, largest difference, run seconds.

  python benchmarks/export.py [--model default|tiny] [--sizes 64x96,120x80] [--formats jax,jax_bf16,onnx]
  python benchmarks/export.py --checkpoint checkpoints/ifan

Without --checkpoint the model gets random weights: `default` is the official architecture (N=17,
IAC as published, which the ONNX export handles too), `tiny` the tests' model. For each format and
size it prints the largest absolute difference of `result` and `disparity` from `Deblurrer.predict`,
and the seconds of one call after a first (compiling) one.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
import skimage.data
import skimage.transform
from absl import app, flags

from ifan_jax import IFAN, Deblurrer, IFANConfig
from ifan_jax.exporting import writing

_MODEL = flags.DEFINE_enum("model", "default", ["default", "tiny"], "Random-weight model without --checkpoint.")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "Model directory or .pytorch file instead of random weights.")
_SIZES = flags.DEFINE_list("sizes", ["64x96", "120x80"], "HxW of the test images (multiples of 8).")
_FORMATS = flags.DEFINE_list("formats", ["jax", "jax_bf16", "onnx"], "jax, jax_bf16 and/or onnx.")
_CONFIGS = {
  "default": IFANConfig(iac_compat=True),
  "tiny": IFANConfig(channels=4, res_num=1, iterations=2, reblur_iterations=2),
}


def _deblurrer():
  if _CHECKPOINT.value:
    return Deblurrer.from_checkpoint(_CHECKPOINT.value)
  config = _CONFIGS[_MODEL.value]
  return Deblurrer(config, jax.jit(IFAN(config).init)(jax.random.key(0), jnp.zeros((1, 16, 16, 3)))["params"])


def _runner(fmt, data):
  """`run(image [1, H, W, 3]) -> (result, disparity)` of the exported bytes."""
  if fmt == "onnx":
    import onnxruntime  # pylint: disable=import-outside-toplevel

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(data, options)
    return lambda image: session.run(None, {"image": image})
  exported = jax.export.deserialize(bytearray(data))
  return lambda image: [np.asarray(x) for x in exported.call(image)]


def main(argv):
  del argv
  deblurrer = _deblurrer()
  images = []
  for size in _SIZES.value:
    height, width = map(int, size.split("x"))
    images.append(skimage.transform.resize(skimage.data.astronaut(), (height, width)).astype(np.float32))
  expected = [deblurrer.predict(image) for image in images]
  print(f"device: {jax.devices()[0].device_kind}; model: {_CHECKPOINT.value or 'random ' + _MODEL.value}")
  for name in _FORMATS.value:
    fmt, dtype = ("jax", "bfloat16") if name == "jax_bf16" else (name, "float32")
    start = time.perf_counter()
    data = writing.export_bytes(deblurrer, fmt=fmt, dtype=dtype)
    print(f"{name}: {len(data) / 2**20:.1f} MB, exported in {time.perf_counter() - start:.1f} s")
    run = _runner(fmt, data)
    for image, want in zip(images, expected):
      run(image[None])
      start = time.perf_counter()
      result, disparity = run(image[None])
      seconds = time.perf_counter() - start
      result_diff = np.abs(result[0] - want["result"]).max()
      disparity_diff = np.abs(disparity[0, ..., 0] - want["disparity"]).max()
      print(
        f"  {image.shape[0]}x{image.shape[1]}: max |result - Deblurrer| {result_diff:.2e}, "
        f"disparity {disparity_diff:.2e}; {seconds:.3f} s per call"
      )


if __name__ == "__main__":
  app.run(main)
