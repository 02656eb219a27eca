r"""Deblur your own photos: `python -m ifan_jax.deblur INPUT... --checkpoint DIR --out DIR`.

INPUT is any mix of image files and folders (PNG, JPEG, TIFF; 8 or 16 bits; grey or
colour; with or without alpha). Each result keeps its input's name, format and bit depth
under --out; inputs are never overwritten. Large images are deblurred in overlapping
tiles (--tile, automatic when the whole image would not fit in memory). Files that cannot
be read are reported and skipped; the exit status is 1 if any image failed.

  python -m ifan_jax.deblur photos/ --checkpoint checkpoints/IFAN --out deblurred/
  python -m ifan_jax.deblur c.png --left l.png --right r.png --checkpoint IFAN_dual --out out/
"""

import os
import sys

from absl import app, flags, logging
from tqdm import tqdm

from ifan_jax import image_io, tiling
from ifan_jax.deblurrer import Deblurrer

def _pair_views(inputs, left, right):
  """Inputs with their (left, right) views, or (None, None) for the single-image model."""
  if not left and not right:
    return [(path, None, None) for path in inputs]
  if not (len(left) == len(right) == len(inputs)):
    raise app.UsageError(f"--left and --right must give one view each per input: {len(inputs)} inputs, "
                         f"{len(left)} left and {len(right)} right views.")
  return list(zip(inputs, left, right))


def _output_path(path, out_dir, inputs, taken):
  target = os.path.join(out_dir, os.path.basename(path))
  if os.path.realpath(target) in inputs:
    raise ValueError(f"{path}: its output {target} would overwrite an input; choose another --out.")
  if target in taken:
    raise ValueError(f"{path}: its output {target} is already written for {taken[target]}.")
  return target


def deblur_file(deblurrer, path, target, *, left=None, right=None, tile=None, overlap=tiling.DEFAULT_OVERLAP):
  """Deblurs one image file into `target` (same format, bit depth, channels and alpha)."""
  photo = image_io.read_image(path)
  views = {name: image_io.read_image(view).rgb for name, view in (("left", left), ("right", right)) if view}
  height, width = photo.rgb.shape[:2]
  tile = tile or tiling.automatic_tile(deblurrer.config, height, width, overlap=overlap)
  if tile and max(height, width) > tile:
    logging.info("%s: %dx%d in tiles of %d pixels", path, width, height, tile)
    sharp = tiling.deblur_tiled(deblurrer, photo.rgb, tile=tile, overlap=overlap, progress=True, **views)
  else:
    sharp = deblurrer(photo.rgb, **views)
  image_io.write_image(target, sharp, bit_depth=photo.bit_depth, grayscale=photo.grayscale, alpha=photo.alpha)


def run(inputs, *, checkpoint, out_dir, left=(), right=(), tile=None, overlap=tiling.DEFAULT_OVERLAP):
  """Deblurs every image in `inputs` into `out_dir`; returns ([(path, error) failures], number of images)."""
  if tile is not None:
    tiling.check_tiling(tile, overlap)
  jobs = _pair_views(image_io.list_images(inputs), image_io.list_images(left), image_io.list_images(right))
  if not jobs:
    raise app.UsageError("No input images: give image files or folders holding PNG, JPEG or TIFF files.")
  try:  # Before loading the model, which takes a while.
    image_io.make_output_folder(out_dir)
  except OSError as e:
    raise app.UsageError(f"--out: {e}") from e
  deblurrer = Deblurrer.from_checkpoint(checkpoint)
  if deblurrer.config.dual_pixel and not left:
    raise app.UsageError(f"{checkpoint} is the dual-pixel IFAN: give --left and --right views.")
  inputs = {os.path.realpath(p) for job in jobs for p in job if p}
  failures, taken = [], {}
  for path, left_view, right_view in tqdm(jobs, desc="deblurring", unit="image"):
    try:
      target = _output_path(path, out_dir, inputs, taken)
      deblur_file(deblurrer, path, target, left=left_view, right=right_view, tile=tile, overlap=overlap)
      taken[target] = path
    except (ValueError, OSError) as e:  # ImageReadError is a ValueError.
      logging.error("skipped %s", e)
      failures.append((path, str(e)))
  return failures, len(jobs)


def define_flags():
  """Defines the command's flags on `flags.FLAGS`: only when run, so importing it clashes with no program."""
  flags.DEFINE_string("checkpoint", None, "Model directory (ours or `python -m ifan_jax.convert`'s) or an "
                      "official .pytorch file.", required=True)
  flags.DEFINE_string("out", None, "Output folder (created if needed).", required=True)
  flags.DEFINE_integer("tile", None, "Deblur in square tiles of this many pixels (a multiple of 8). Default: "
                       "whole images, tiled automatically only when they would not fit in memory.")
  flags.DEFINE_integer("overlap", tiling.DEFAULT_OVERLAP,
                       "Overlap of adjacent tiles in pixels (a multiple of 8); seams are blended.")
  flags.DEFINE_multi_string("left", [], "Dual-pixel left views (files or folders), paired in order with the "
                            "inputs.")
  flags.DEFINE_multi_string("right", [], "Dual-pixel right views, paired like --left.")


def main(argv):
  if len(argv) < 2:
    raise app.UsageError("Give at least one input image or folder.")
  options = flags.FLAGS
  try:
    failures, total = run(argv[1:], checkpoint=options.checkpoint, out_dir=options.out, left=options.left,
                          right=options.right, tile=options.tile, overlap=options.overlap)
  except (OSError, ValueError) as e:  # A missing or broken checkpoint: its message names it.
    sys.exit(f"ifan_jax.deblur: {e}")
  print(f"Deblurred {total - len(failures)} of {total} images into {options.out}.")
  for path, error in failures:
    print(f"  failed: {error}")
  sys.exit(1 if failures else 0)


if __name__ == "__main__":
  define_flags()
  app.run(main)
