"""Evaluation throughput at DPDD's size (1120x1680) and the cost of tiled inference.

  python benchmarks/eval.py [--checkpoint DIR] [--height 1120] [--width 1680] [--images 3]
                            [--tile 512] [--overlap 128]

Without --checkpoint the official architecture (N=17, IAC as published) gets random
weights: speed does not depend on their values. Prints, on the default device:
- seconds per image of inference (compilation excluded) and of the four metrics, and the
  resulting images/s of `python -m ifan_jax.eval` (image reading and writing excluded);
- tiled inference (--tile, --overlap) against whole-image inference: seconds, overhead,
  and the largest difference away from the seams and on them.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
import skimage.data
import skimage.filters
import skimage.transform
from absl import app, flags

from ifan_jax import IFAN, Deblurrer, IFANConfig
from ifan_jax.evaluation import metrics
from ifan_jax.inference import tiling

_CHECKPOINT = flags.DEFINE_string(
  "checkpoint", None, "Model directory or .pytorch file (default: random weights, official architecture)."
)
_HEIGHT = flags.DEFINE_integer("height", 1120, "Image height.")
_WIDTH = flags.DEFINE_integer("width", 1680, "Image width.")
_IMAGES = flags.DEFINE_integer("images", 3, "Timed repetitions (after one untimed run that compiles).")
_TILE = flags.DEFINE_integer("tile", 512, "Tile size of the tiled run.")
_OVERLAP = flags.DEFINE_integer("overlap", tiling.DEFAULT_OVERLAP, "Tile overlap of the tiled run.")


def _deblurrer():
  if _CHECKPOINT.value:
    return Deblurrer.from_checkpoint(_CHECKPOINT.value)
  config = IFANConfig(iac_compat=True)
  params = jax.jit(IFAN(config).init)(jax.random.key(0), jnp.zeros((1, 16, 16, 3)))["params"]
  return Deblurrer(config, params)


def _seconds(fn, repeats):
  """Mean seconds of `fn()` (which returns host arrays, so it has finished), after one untimed call."""
  fn()
  start = time.perf_counter()
  for _ in range(repeats):
    out = fn()
  return (time.perf_counter() - start) / repeats, out


def main(argv):
  del argv
  height, width = _HEIGHT.value, _WIDTH.value
  sharp = skimage.transform.resize(skimage.data.astronaut(), (height, width)).astype(np.float32)
  blurred = skimage.filters.gaussian(sharp, sigma=3, channel_axis=-1).astype(np.float32)
  deblurrer = _deblurrer()
  lpips = metrics.LPIPS()
  print(
    f"device: {jax.devices()[0].device_kind} ({jax.devices()[0].platform}); image {height}x{width}; "
    f"model {'random official architecture' if not _CHECKPOINT.value else _CHECKPOINT.value}"
  )

  infer, whole = _seconds(lambda: deblurrer(blurred), _IMAGES.value)
  all_metrics = (metrics.psnr, metrics.ssim, metrics.mae, lpips)
  score, _ = _seconds(lambda: [float(m(whole, sharp)) for m in all_metrics], _IMAGES.value)
  print(f"inference {infer:.3f} s/image, metrics {score:.3f} s/image -> eval {1 / (infer + score):.3g} images/s")

  tile, overlap = _TILE.value, _OVERLAP.value
  tiled_seconds, tiled = _seconds(
    lambda: tiling.deblur_tiled(deblurrer, blurred, tile=tile, overlap=overlap), _IMAGES.value
  )
  cover = np.zeros((height, width), int)
  boxes = tiling.windows(height, width, tile, overlap)
  for top, left, bottom, right in boxes:
    cover[top:bottom, left:right] += 1
  error = np.abs(tiled - whole).max(axis=-1)
  print(
    f"tiled ({len(boxes)} tiles of {tile}, overlap {overlap}): {tiled_seconds:.3f} s/image, "
    f"overhead {tiled_seconds / infer - 1:+.0%}; max |tiled - whole| away from seams "
    f"{error[cover == 1].max():.2e}, on seams {error[cover > 1].max():.2e}"
  )


if __name__ == "__main__":
  app.run(main)
