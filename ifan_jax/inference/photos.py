"""Deblurring image files: each result keeps its input's name, format, bit depth, grey and alpha.

What `python -m ifan_jax.deblur` runs; errors are ValueError or OSError naming the file or the
argument, which the command prints as they are.
"""

import os

from absl import logging
from tqdm import tqdm

from ifan_jax.inference import tiling
from ifan_jax.inference.deblurrer import Deblurrer
from ifan_jax.io import images


def _pair_views(inputs, left, right):
  """Inputs with their (left, right) views, or (None, None) for the single-image model."""
  if not left and not right:
    return [(path, None, None) for path in inputs]
  if not (len(left) == len(right) == len(inputs)):
    raise ValueError(
      f"--left and --right must give one view each per input: {len(inputs)} inputs, "
      f"{len(left)} left and {len(right)} right views."
    )
  return list(zip(inputs, left, right))


def _output_path(path, out_dir, inputs, taken):
  target = os.path.join(out_dir, os.path.basename(path))
  if os.path.realpath(target) in inputs:
    raise ValueError(f"{path}: its output {target} would overwrite an input; choose another --out.")
  if target in taken:
    raise ValueError(f"{path}: its output {target} is already written for {taken[target]}.")
  return target


def deblur_photo(
  deblurrer: Deblurrer,
  photo: images.Photo,
  *,
  left=None,
  right=None,
  tile=None,
  overlap=tiling.DEFAULT_OVERLAP,
  name="image",
  should_stop=None,
) -> dict:
  """`Deblurrer.predict` on a read photo, in tiles when it is large (`tile`, or automatically).

  `left`/`right` are the dual-pixel views as `[H, W, 3]` arrays. Returns `result` (and
  `disparity` when the image was deblurred whole, not in tiles). `should_stop`: see
  `tiling.deblur_tiled` (an image deblurred whole runs to its end: XLA cannot stop mid-call).
  """
  height, width = photo.rgb.shape[:2]
  tile = tile or tiling.automatic_tile(deblurrer.config, height, width, overlap=overlap)
  views = {key: view for key, view in (("left", left), ("right", right)) if view is not None}
  if tile and max(height, width) > tile:
    logging.info("%s: %dx%d in tiles of %d pixels", name, width, height, tile)
    tiled = tiling.deblur_tiled(
      deblurrer, photo.rgb, tile=tile, overlap=overlap, progress=True, should_stop=should_stop, **views
    )
    return {"result": tiled}
  return deblurrer.predict(photo.rgb, **views)


def deblur_file(
  deblurrer,
  path,
  target,
  *,
  left=None,
  right=None,
  tile=None,
  overlap=tiling.DEFAULT_OVERLAP,
  max_pixels=images.MAX_PIXELS,
):
  """Deblurs one image file into `target` (same format, bit depth, channels and alpha).

  A result that `target`'s format cannot hold (a 16-bit PNG named .jpg) is refused before the work.
  """
  photo = images.read_image(path, max_pixels=max_pixels)
  images.check_writable(photo, images.image_format(target), str(path))
  views = {
    name: images.read_image(view, max_pixels=max_pixels).rgb
    for name, view in (("left", left), ("right", right))
    if view
  }
  sharp = deblur_photo(deblurrer, photo, tile=tile, overlap=overlap, name=path, **views)["result"]
  images.write_image(target, sharp, bit_depth=photo.bit_depth, grayscale=photo.grayscale, alpha=photo.alpha)


def deblur_files(
  inputs,
  *,
  checkpoint,
  out_dir,
  left=(),
  right=(),
  tile=None,
  overlap=tiling.DEFAULT_OVERLAP,
  max_pixels=images.MAX_PIXELS,
):
  """Deblurs every image in `inputs` (files and folders) into `out_dir`.

  Returns `([(path, error) of the images that failed], number of images)`: an unreadable
  file (or one over `max_pixels`) is reported and skipped. The output folder is checked before the
  model loads.
  """
  if tile is not None:
    tiling.check_tiling(tile, overlap)
  jobs = _pair_views(images.list_images(inputs), images.list_images(left), images.list_images(right))
  if not jobs:
    raise ValueError("No input images: give image files or folders holding PNG, JPEG or TIFF files.")
  try:  # Before loading the model, which takes a while.
    images.make_output_folder(out_dir)
  except OSError as e:
    raise type(e)(f"--out: {e}") from e
  deblurrer = Deblurrer.from_checkpoint(checkpoint)
  if deblurrer.config.dual_pixel and not left:
    raise ValueError(f"{checkpoint} is the dual-pixel IFAN: give --left and --right views.")
  inputs = {os.path.realpath(p) for job in jobs for p in job if p}
  failures, taken = [], {}
  for path, left_view, right_view in tqdm(jobs, desc="deblurring", unit="image"):
    try:
      target = _output_path(path, out_dir, inputs, taken)
      deblur_file(
        deblurrer, path, target, left=left_view, right=right_view, tile=tile, overlap=overlap, max_pixels=max_pixels
      )
      taken[target] = path
    except (ValueError, OSError) as e:  # ImageReadError is a ValueError.
      logging.error("skipped %s", e)
      failures.append((path, str(e)))
  return failures, len(jobs)
