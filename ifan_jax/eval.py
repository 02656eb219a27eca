r"""Evaluate a model with the paper's protocol: `python -m ifan_jax.eval --checkpoint DIR --dataset NAME`.

NAME is dpdd, realdof, cuhk, pixeldp or synthetic_dp (a built TFDS dataset, optionally
with a config such as dpdd/16bit), or folder:PATH (a folder of blurred images, or one
with source/ and target/ folders like RealDOF). --checkpoint is a model directory or an
official .pytorch file (converted on the fly). Writes per_image.csv, summary.json,
outputs/ (8- or 16-bit like the source) and figures/ under --out, and prints a table.

  python -m ifan_jax.eval --checkpoint checkpoints/IFAN --dataset dpdd --data_dir ~/tensorflow_datasets
  python -m ifan_jax.eval --checkpoint IFAN.pytorch --dataset folder:/data/RealDOF --out results/realdof
"""

import os
import re

from absl import app, flags, logging

from ifan_jax import eval_sources, evaluate
from ifan_jax.deblurrer import Deblurrer

_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "Model directory or official .pytorch file.",
                                  required=True)
_DATASET = flags.DEFINE_string("dataset", None, "dpdd | realdof | cuhk | pixeldp | synthetic_dp "
                               "(optionally /config) | folder:PATH", required=True)
_SPLIT = flags.DEFINE_string("split", "test", "Split of a TFDS dataset.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "TFDS data_dir the datasets were built into "
                                "(default: TFDS's own).")
_OUT = flags.DEFINE_string("out", None, "Output folder (default: results/<dataset>_<split>).")
_LIMIT = flags.DEFINE_integer("limit", None, "Evaluate only the first N images.")
_FIGURES = flags.DEFINE_integer("figures", 3, "Side-by-side figures for the first N images.")
_SAVE_OUTPUTS = flags.DEFINE_bool("save_outputs", True, "Save every deblurred image under outputs/.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  source = eval_sources.open_source(_DATASET.value, data_dir=_DATA_DIR.value, split=_SPLIT.value,
                                    limit=_LIMIT.value)
  out_dir = _OUT.value or os.path.join("results", re.sub(r"[^\w.-]+", "_", source.name))
  deblurrer = Deblurrer.from_checkpoint(_CHECKPOINT.value)
  logging.info("Evaluating %s on %s into %s", _CHECKPOINT.value, source.name, out_dir)
  _, summary = evaluate.evaluate(deblurrer, source, out_dir, num_figures=_FIGURES.value,
                                 save_outputs=_SAVE_OUTPUTS.value)
  print(evaluate.format_table(summary, label=os.path.basename(os.path.normpath(_CHECKPOINT.value))))
  print(f"Per-image scores, summary, outputs and figures: {out_dir}")


if __name__ == "__main__":
  app.run(main)
