"""What `python -m ifan_jax.eval` evaluates: a built TFDS dataset or a folder of images.

Either way examples are dicts as `ifan_jax.data.pipeline.eval_iterator` yields them:
'blurred' (and 'left', 'right', 'sharp' where present) float32 `[1, H, W, 3]` in [0, 1],
cropped to multiples of 8 from the bottom and right as the reference does, plus 'name'.
"""

import dataclasses
import os
from collections.abc import Callable, Iterator

import numpy as np
from etils import epath

from ifan_jax import image_io
from ifan_jax.data import folders, images, pipeline

FOLDER_PREFIX = "folder:"
# Datasets the reference rotates 90 degrees counter-clockwise before the network (and back).
ROTATED = ("pixeldp",)


@dataclasses.dataclass
class EvalSource:
  """Examples to evaluate and what the protocol needs to know about them."""

  name: str  # for tables and file names, e.g. "dpdd/8bit test" or "folder RealDOF"
  dataset: str  # "dpdd", "realdof", ... or "folder"
  split: str
  count: int
  bit_depth: int  # of the source files: outputs are saved the same way
  rotate: bool  # rotate 90 degrees counter-clockwise before the network and back after
  examples: Callable[[], Iterator[dict]]


def open_source(dataset: str, *, data_dir=None, split="test", limit=None) -> EvalSource:
  """`dataset` is a TFDS name (dpdd, realdof, cuhk, pixeldp, synthetic_dp, optionally "/config")
  or "folder:PATH"."""
  if dataset.startswith(FOLDER_PREFIX):
    return _folder_source(dataset[len(FOLDER_PREFIX):], limit)
  builder = pipeline.ensure_built(dataset, data_dir)
  if split not in builder.info.splits:
    raise ValueError(f"dataset {dataset!r} has no split {split!r}; it has {', '.join(builder.info.splits)}.")
  count = builder.info.splits[split].num_examples
  base = dataset.split("/")[0]
  return EvalSource(
      name=f"{dataset} {split}", dataset=base, split=split,
      count=count if limit is None else min(limit, count),
      bit_depth=16 if builder.info.features["blurred"].np_dtype == np.uint16 else 8,
      rotate=base in ROTATED,
      examples=lambda: pipeline.eval_iterator(dataset=dataset, data_dir=data_dir, split=split, limit=limit))


def _folder_source(path, limit) -> EvalSource:
  """A folder of blurred images, or one with `source/` (blurred) and `target/` (sharp) folders
  whose files pair up by name, like RealDOF."""
  root = epath.Path(path)
  if not root.is_dir():
    raise FileNotFoundError(f"{FOLDER_PREFIX}{path}: no such folder.")
  if (root / "source").is_dir():
    layout = {"blurred": "source"}
    if (root / "target").is_dir():
      layout["sharp"] = "target"
    scenes = [(s.name, s.files) for s in folders.pair_scenes(root, layout)]
  else:
    scenes = [(p.stem, {"blurred": p}) for p in folders.list_images(root)]
  scenes = scenes[:limit]
  bit_depth = image_io.read_image(scenes[0][1]["blurred"]).bit_depth

  def examples():
    for name, files in scenes:
      example = {k: images.crop_to_multiple(image_io.read_image(f).rgb)[None] for k, f in files.items()}
      yield dict(example, name=name)

  return EvalSource(name=f"folder {os.path.basename(os.path.normpath(path))}", dataset="folder", split="",
                    count=len(scenes), bit_depth=bit_depth, rotate=False, examples=examples)
