r"""Deblur your own photos: `python -m ifan_jax.deblur INPUT... --checkpoint DIR --out DIR`.

INPUT is any mix of image files and folders (PNG, JPEG, TIFF; 8 or 16 bits; grey or
colour; with or without alpha). Each result keeps its input's name, format and bit depth
under --out; inputs are never overwritten. Large images are deblurred in overlapping
tiles (--tile, automatic when the whole image would not fit in memory). Files that cannot
be read are reported and skipped; the exit status is 1 if any image failed. A file declaring more
than --max_pixels pixels is refused before it is decoded.

  python -m ifan_jax.deblur photos/ --checkpoint checkpoints/IFAN --out deblurred/
  python -m ifan_jax.deblur c.png --left l.png --right r.png --checkpoint IFAN_dual --out out/
"""

import sys

from absl import app, flags

from ifan_jax import commands
from ifan_jax.inference import photos
from ifan_jax.io import images
from ifan_jax.saved_models import any_model


def define_flags():
  """Defines the command's flags on `flags.FLAGS`: only when run, so importing it clashes with no program."""
  flags.DEFINE_string("checkpoint", None, any_model.CHECKPOINT_HELP, required=True)
  flags.DEFINE_string("out", None, "Output folder (created if needed).", required=True)
  commands.define_tiling_flags()
  flags.adopt_module_key_flags(commands)  # so that --help lists them with this command's own
  flags.DEFINE_multi_string("left", [], "Dual-pixel left views (files or folders), paired in order with the inputs.")
  flags.DEFINE_multi_string("right", [], "Dual-pixel right views, paired like --left.")
  flags.DEFINE_integer(
    "max_pixels",
    images.MAX_PIXELS,
    "Largest image read, in pixels (width x height): checked in the file's header before decoding.",
    lower_bound=1,
  )


def main(argv):
  if len(argv) < 2:
    raise app.UsageError("Give at least one input image or folder.")
  options = flags.FLAGS
  failures, total = photos.deblur_files(
    argv[1:],
    checkpoint=options.checkpoint,
    out_dir=options.out,
    left=options.left,
    right=options.right,
    tile=options.tile,
    overlap=options.overlap,
    max_pixels=options.max_pixels,
  )
  print(f"Deblurred {total - len(failures)} of {total} images into {options.out}.")
  for _, error in failures:
    print(f"  failed: {error}")
  sys.exit(1 if failures else 0)


if __name__ == "__main__":
  define_flags()
  commands.run(main, "ifan_jax.deblur")
