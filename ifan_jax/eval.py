r"""Evaluate a model with the paper's protocol: `python -m ifan_jax.eval --checkpoint DIR --dataset NAME`.

NAME is a dataset of `ifan_jax/data/registry.py` (`--help` lists them: a built TFDS dataset, optionally
with a config such as dpdd/16bit), or folder:PATH (a folder of blurred images, or one
with source/ and target/ folders like RealDOF). --checkpoint is a model directory or an
official .pytorch file (converted on the fly). Writes per_image.csv, summary.json,
outputs/ (8- or 16-bit like the source) and figures/ under --out, and prints a table.
An image that cannot be read or scored is reported and skipped; the exit status is 1 if
any image failed.

  python -m ifan_jax.eval --checkpoint checkpoints/IFAN --dataset dpdd --data_dir ~/tensorflow_datasets
  python -m ifan_jax.eval --checkpoint IFAN.pytorch --dataset folder:/data/RealDOF --out results/realdof
"""

import os
import re
import sys

from absl import app, flags, logging

from ifan_jax import commands
from ifan_jax.data import registry
from ifan_jax.evaluation import protocol, sources
from ifan_jax.inference.deblurrer import Deblurrer
from ifan_jax.io import images
from ifan_jax.saved_models import any_model


def define_flags():
  """Defines the command's flags on `flags.FLAGS`: only when run, so importing it clashes with no program."""
  flags.DEFINE_string("checkpoint", None, any_model.CHECKPOINT_HELP, required=True)
  names = [f"{e.name}/NAME" if e.user_named else e.name for e in registry.ENTRIES]
  flags.DEFINE_string("dataset", None, f"{' | '.join(names)} (optionally /config) | folder:PATH", required=True)
  flags.DEFINE_string("split", "test", "Split of a TFDS dataset.")
  flags.DEFINE_string("data_dir", None, "TFDS data_dir the datasets were built into (default: TFDS's own).")
  flags.DEFINE_string(
    "out", None, "Output folder (default: results/<dataset>_<split>, or results/folder_<name> for a folder)."
  )
  flags.DEFINE_integer("limit", None, "Evaluate only the first N images.")
  flags.DEFINE_integer("figures", 3, "Side-by-side figures for the first N images.")
  flags.DEFINE_bool("save_outputs", True, "Save every deblurred image under outputs/.")
  flags.DEFINE_integer(
    "max_pixels", images.MAX_PIXELS, "Largest image of a folder: declaring more is reported and skipped.", lower_bound=1
  )


def _output_folder(path):
  """Creates `path` before the model is loaded (which takes a while), or says why it cannot be used."""
  try:
    images.make_output_folder(path)
  except OSError as e:
    raise type(e)(f"--out: {e}") from e
  return path


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  options = flags.FLAGS
  source = sources.open_source(
    options.dataset, data_dir=options.data_dir, split=options.split, limit=options.limit, max_pixels=options.max_pixels
  )
  out_dir = _output_folder(options.out or os.path.join("results", re.sub(r"[^\w.-]+", "_", source.name)))
  deblurrer = Deblurrer.from_checkpoint(options.checkpoint)
  logging.info("Evaluating %s on %s into %s", options.checkpoint, source.name, out_dir)
  _, summary = protocol.evaluate(
    deblurrer, source, out_dir, num_figures=options.figures, save_outputs=options.save_outputs
  )
  print(protocol.format_table(summary, label=os.path.basename(os.path.normpath(options.checkpoint))))
  print(f"Per-image scores, summary, outputs and figures: {out_dir}")
  for failure in summary["failed"]:
    print(f"  failed: {failure['name']}: {failure['error']}")
  sys.exit(1 if summary["failed"] else 0)


if __name__ == "__main__":
  define_flags()
  commands.run(main, "ifan_jax.eval")
