"""TFDS builder of `pairs/NAME`: anyone's blurred and sharp photos, optionally with dual-pixel views.

NAME is the user's: TFDS configs are declared with their class, so this builder makes a config of
any name it is given. What a dataset holds is read off its folders when it is built (splits,
whether it has views, the bit depth of its files) and recorded by TFDS with the build; reading it
back (`tfds.builder("pairs/NAME", data_dir=D)` after `import ifan_jax.data`) needs nothing else.
Several such datasets live side by side under one data_dir, as `pairs/<name>/`.
"""

import dataclasses
import re

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from ifan_jax.data import folder_builder, folders
from ifan_jax.io import images

SPLITS = ("train", "validation", "test")  # train is required
FOLDERS = {"blurred": "source", "sharp": "target", "left": "left", "right": "right"}  # feature -> folder
VIEWS = ("left", "right")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")  # a folder of data_dir/pairs/, with room for a lock file

INSTRUCTIONS = """\
A folder of your own photos (any name; NAME below is the dataset's name, your choice):

  <manual_dir>/
    train/source/*      blurred photos (PNG, JPEG or TIFF; 8- or 16-bit, one depth for all)
    train/target/*      their sharp ground truth, files named as their blurred photo
    train/left/*, train/right/*   optional: the dual-pixel views (both or neither; then in every split)
    validation/..., test/...      optional: the same layout

Files pair by name across folders (a trailing _L, _R or _C is ignored, so 0001_L.png pairs with 0001.png).
Then: python -m ifan_jax.data.build pairs --manual_dir <manual_dir> --config NAME [--data_dir D]
"""


@dataclasses.dataclass(frozen=True)
class Layout:
  """What a folder of pairs holds: split -> feature -> folder, and the bit depth of its first file."""

  root: epath.Path
  split_folders: dict[str, dict[str, str]]
  bits: int
  depth_of: epath.Path  # the file whose bit depth every other must share


def read_layout(manual_dir, max_pixels: int = images.MAX_PIXELS) -> Layout:
  """The splits and features present under `manual_dir`; errors name the folder at fault."""
  root = epath.Path(manual_dir)
  if not (root / "train").is_dir():
    raise FileNotFoundError(f"missing folder {root / 'train'}. Expected layout:\n{INSTRUCTIONS}")
  split_folders = {}
  for split in (s for s in SPLITS if (root / s).is_dir()):
    views = [v for v in VIEWS if (root / split / v).is_dir()]
    if len(views) == 1:
      other = next(v for v in VIEWS if v not in views)
      raise ValueError(f"{root / split / views[0]} has no partner folder {root / split / other}: give both views.")
    split_folders[split] = {f: f"{split}/{folder}" for f, folder in FOLDERS.items() if f not in VIEWS or views}
  with_views = [s for s in split_folders if "left" in split_folders[s]]
  if with_views and len(with_views) != len(split_folders):
    without = next(s for s in split_folders if s not in with_views)
    raise ValueError(
      f"{root / with_views[0]} has left/ and right/ view folders but {root / without} has not: "
      "every split has the views, or none does."
    )
  first = epath.Path(images.image_files(root / "train" / "source")[0])
  return Layout(root, split_folders, images.read_image(first, max_pixels=max_pixels).bit_depth, first)


class Builder(folder_builder.FolderBuilder):
  """`pairs/NAME`, built from `manual_dir` (see INSTRUCTIONS); any NAME of letters, digits, `_`, `.`, `-`."""

  BUILDER_CONFIGS = []  # every config is made on the fly from its name
  ROOT = "."  # the manual dir is the dataset's folder
  # Every folder there may be (the dummy layout writes them all); a build uses those present.
  SPLIT_FOLDERS = {split: {f: f"{split}/{folder}" for f, folder in FOLDERS.items()} for split in SPLITS}
  SPLIT_SIZES = {}
  MANUAL_DOWNLOAD_INSTRUCTIONS = INSTRUCTIONS

  @staticmethod
  def check_name(name: str | None):
    """A ValueError unless `name` can name a dataset: 1 to 100 letters, digits, '_', '.' or '-'."""
    if not name or not _NAME.fullmatch(name):
      raise ValueError(
        "pairs needs a dataset name of 1 to 100 letters, digits, '_', '.' or '-' (starting with a letter or "
        f"digit): pairs/NAME (build with --config NAME), got {name!r}."
      )

  def __init__(self, *, config=None, manual_dir=None, max_pixels=images.MAX_PIXELS, **kwargs):
    """`config`: the dataset's name; `manual_dir`: the folder it is built from (not needed to read it)."""
    name = config.name if isinstance(config, tfds.core.BuilderConfig) else config
    name = name.split(":")[0] if name else name  # TFDS may pass the version along (NAME:1.0.0)
    self.check_name(name)
    self._layout = read_layout(manual_dir, max_pixels) if manual_dir else None
    if self._layout:
      self.SPLIT_FOLDERS = self._layout.split_folders
    bits = self._layout.bits if self._layout else 8
    config = folder_builder.BitDepthConfig(name=name, description=f"Pairs of {manual_dir or 'photos'}.", bits=bits)
    super().__init__(config=config, max_pixels=max_pixels, **kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    if self._layout is None:  # Reading a built dataset: TFDS restores its features from the files.
      return self.dataset_info_from_configs(features=None, disable_shuffling=True)
    return super()._info()

  def _root(self, dl_manager) -> epath.Path:
    del dl_manager  # the folder was read when the builder was made
    if self._layout is None:
      raise ValueError(f"pairs/{self.builder_config.name} is built from a folder: pass manual_dir.\n{INSTRUCTIONS}")
    return self._layout.root

  def _generate_examples(self, scenes):
    dtype = np.uint16 if self._layout.bits == 16 else np.uint8
    for scene in scenes:
      example = folders.load_scene(scene, dtype, depth_of=self._layout.depth_of, max_pixels=self._max_pixels)
      yield scene.name, {**example, "name": scene.name}
