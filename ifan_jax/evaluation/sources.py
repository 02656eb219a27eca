"""What `python -m ifan_jax.eval` evaluates: a built TFDS dataset or a folder of images.

Either way examples are dicts as `ifan_jax.data.pipeline.eval_iterator` yields them:
'blurred' (and 'left', 'right', 'sharp' where present) float32 `[1, H, W, 3]` in [0, 1],
cropped to multiples of 8 from the bottom and right as the reference does, plus 'name'.
A folder's image that cannot be used comes as `{'name': ..., 'error': why}` instead, so
that the evaluation can report it and go on.
"""

import collections
import dataclasses
from collections.abc import Callable, Iterator, Mapping

import numpy as np

from ifan_jax.data import folders, pipeline, registry
from ifan_jax.io import images, paths

FOLDER_PREFIX = "folder:"


@dataclasses.dataclass
class EvalSource:
  """Examples to evaluate and what the protocol needs to know about them."""

  name: str  # for tables and file names, e.g. "dpdd/8bit test" or "folder RealDOF"
  split: str
  count: int
  bit_depth: int  # of the source files: outputs are saved the same way
  rotate: bool  # rotate 90 degrees counter-clockwise before the network and back after
  examples: Callable[[], Iterator[dict]]
  paper: Mapping[str, float] | None = None  # IFAN's published scores on this test set, if any
  paper_input: Mapping[str, float] | None = None  # the published scores of its blurred inputs, if any


def open_source(dataset: str, *, data_dir=None, split="test", limit=None, max_pixels=images.MAX_PIXELS) -> EvalSource:
  """`dataset` is a dataset of `ifan_jax.data.registry` (e.g. dpdd, dpdd/16bit, realdof, pairs/NAME)
  or "folder:PATH". Relative folders are resolved here, once: the examples are read later. A folder's
  image declaring more than `max_pixels` pixels is reported as failed, like an unreadable one."""
  if limit is not None and limit < 1:
    raise ValueError(f"limit must be at least 1 (leave it out for every image), got {limit}.")
  if dataset.startswith(FOLDER_PREFIX):
    return _folder_source(dataset[len(FOLDER_PREFIX) :], limit, max_pixels)
  data_dir = paths.absolute_str(data_dir)
  builder = pipeline.ensure_built(dataset, data_dir)
  pipeline.check_split(builder, dataset, split)
  count = builder.info.splits[split].num_examples
  entry = registry.entry(dataset)
  return EvalSource(
    name=f"{dataset} {split}",
    split=split,
    count=count if limit is None else min(limit, count),
    bit_depth=16 if builder.info.features["blurred"].np_dtype == np.uint16 else 8,
    rotate=entry.rotate_for_eval,
    paper=entry.paper,
    paper_input=entry.paper_input,
    examples=lambda: pipeline.eval_iterator(dataset=dataset, data_dir=data_dir, split=split, limit=limit),
  )


def _folder_scenes(root):
  """(name, files) of each scene; a plain folder's files are named by stem, or in full where stems repeat."""
  if (root / "source").is_dir():
    layout = {"blurred": "source"}
    if (root / "target").is_dir():
      layout["sharp"] = "target"
    return [(s.name, s.files) for s in folders.pair_scenes(root, layout)]
  paths = folders.image_paths(root)
  stems = collections.Counter(p.stem for p in paths)
  return [(p.stem if stems[p.stem] == 1 else p.name, {"blurred": p}) for p in paths]


def _load_scene(files, max_pixels):
  """The example of one scene's files; a ValueError names both files when their sizes differ."""
  photos = {k: images.read_image(f, max_pixels=max_pixels) for k, f in files.items()}
  shapes = {k: p.rgb.shape[:2] for k, p in photos.items()}
  for key, shape in shapes.items():
    if shape != shapes["blurred"]:
      raise ValueError(
        f"{files[key]} is {shape[1]}x{shape[0]} pixels but its blurred image {files['blurred']} "
        f"is {shapes['blurred'][1]}x{shapes['blurred'][0]}."
      )
  return {k: images.crop_to_multiple(p.rgb)[None] for k, p in photos.items()}


def _first_bit_depth(scenes, max_pixels):
  """The bit depth of the first readable blurred image (8 if none is: then every image fails anyway)."""
  for _, files in scenes:
    try:
      return images.read_image(files["blurred"], max_pixels=max_pixels).bit_depth
    except images.ImageReadError:
      continue
  return 8


def _folder_source(path, limit, max_pixels) -> EvalSource:
  """A folder of blurred images, or one with `source/` (blurred) and `target/` (sharp) folders
  whose files pair up by name, like RealDOF."""
  root = paths.absolute(path)
  if not root.is_dir():
    raise FileNotFoundError(f"{FOLDER_PREFIX}{path}: no such folder.")
  scenes = _folder_scenes(root)[:limit]

  def examples():
    for name, files in scenes:
      try:
        example = dict(_load_scene(files, max_pixels), name=name)
      except ValueError as e:  # ImageReadError is one.
        example = {"name": name, "error": str(e)}
      yield example

  return EvalSource(
    name=f"folder {root.name}",
    split="",
    count=len(scenes),
    bit_depth=_first_bit_depth(scenes, max_pixels),
    rotate=False,
    examples=examples,
  )
