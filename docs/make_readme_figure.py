"""Makes the README's figure: a validation image of a dataset, a trained model's output and its disparity.

  python docs/make_readme_figure.py --checkpoint runs/synthetic --dataset synthetic_dp \
      --index 4 --out docs/images/synthetic_dp_example.png

The figure is blurred | ours | estimated disparity, with the PSNRs against the sharp image in the title.
"""

import itertools

from absl import app, flags

from ifan_jax import Deblurrer
from ifan_jax.data import pipeline
from ifan_jax.evaluation import figures, metrics

_CHECKPOINT = flags.DEFINE_string(
  "checkpoint", None, "A training workdir, its best/ folder or a converted model.", required=True
)
_DATASET = flags.DEFINE_string("dataset", "synthetic_dp", "TFDS dataset with blurred and sharp images.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "TFDS data directory.")
_SPLIT = flags.DEFINE_string("split", "validation", "Split to take the image from.")
_INDEX = flags.DEFINE_integer("index", 0, "Which image of the split (file order).")
_OUT = flags.DEFINE_string("out", "docs/images/synthetic_dp_example.png", "PNG to write.")


def main(argv):
  del argv
  deblurrer = Deblurrer.from_checkpoint(_CHECKPOINT.value)
  examples = pipeline.eval_iterator(dataset=_DATASET.value, data_dir=_DATA_DIR.value, split=_SPLIT.value)
  example = next(itertools.islice(examples, _INDEX.value, None), None)
  if example is None:
    raise app.UsageError(f"--index {_INDEX.value}: {_DATASET.value} {_SPLIT.value} has fewer images.")
  blurred, sharp = example["blurred"][0], example["sharp"][0]
  views = {"left": example["left"][0], "right": example["right"][0]} if deblurrer.config.dual_pixel else {}
  outputs = deblurrer.predict(blurred, **views)
  title = (
    f"{example['name']}: PSNR of the blurred input {float(metrics.psnr(blurred, sharp)):.2f} dB, "
    f"ours {float(metrics.psnr(outputs['result'], sharp)):.2f} dB"
  )
  figures.save_comparison(_OUT.value, blurred, outputs["result"], disparity=outputs["disparity"], title=title)
  print(f"Wrote {_OUT.value} ({title}).")


if __name__ == "__main__":
  app.run(main)
