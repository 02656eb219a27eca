r"""Converts an official IFAN `.pytorch` checkpoint into an ifan_jax model directory.

  python -m ifan_jax.convert IFAN.pytorch checkpoints/ifan [--filter_size 3] [--overwrite]

The conversion itself is `ifan_jax.saved_models.torch_weights`; this module only holds the command
line, whose flags are defined when it runs as `python -m` (see `define_flags`).
"""

from absl import app, flags, logging

from ifan_jax import commands
from ifan_jax.saved_models import torch_weights


def define_flags():
  """Defines the command's flags on `flags.FLAGS`: only when run, so importing it clashes with no program."""
  official = torch_weights.OFFICIAL
  flags.DEFINE_integer(
    "filter_size", official.filter_size, "IAC filter size k of the checkpoint (that of all official ones)."
  )
  flags.DEFINE_integer("reblur_filter_size", official.reblur_filter_size, "Filter size of the reblurring IAC.")
  flags.DEFINE_enum(
    "in_bit",
    None,
    ["8", "16"],
    f"Bit depth the checkpoint was trained on; default 16 if the name says 16bit, else {official.in_bit}.",
  )
  flags.DEFINE_boolean(
    "overwrite",
    False,
    "Replace DST_DIR if it is an ifan_jax model directory (config.json "
    "and params/, nothing else); any other existing DST_DIR is left alone.",
  )


def main(argv):
  if len(argv) != 3:
    raise app.UsageError("usage: python -m ifan_jax.convert SRC.pytorch DST_DIR [--filter_size 3]")
  options = flags.FLAGS
  config = torch_weights.convert_file(
    argv[1],
    argv[2],
    filter_size=options.filter_size,
    reblur_filter_size=options.reblur_filter_size,
    in_bit=int(options.in_bit) if options.in_bit else None,
    overwrite=options.overwrite,
  )
  logging.info(
    "Wrote %s (N=%d, dual_pixel=%s, iac_compat=%s).", argv[2], config.iterations, config.dual_pixel, config.iac_compat
  )
  print(f"Converted {argv[1]} -> {argv[2]}: {config}")


if __name__ == "__main__":
  define_flags()
  commands.run(main, "ifan_jax.convert", errors=(ImportError,))
