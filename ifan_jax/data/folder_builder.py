"""Base TFDS builder for the datasets that come as folders of images (DPDD, RealDOF, LFDOF, CUHK, PixelDP,
and a user's own pairs).

A subclass names its root folder, the folders of each split and their published sizes; this class
validates every split before writing anything (missing folders, unpaired files, counts) and every
scene while writing (unreadable or truncated files, pixel type, sizes). TFDS writes into a
temporary folder and renames it only when every split succeeded, so a failed build leaves no
dataset that looks complete.
"""

import dataclasses
from collections.abc import Mapping

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from ifan_jax.data import folders, storage
from ifan_jax.io import images


@dataclasses.dataclass
class BitDepthConfig(tfds.core.BuilderConfig):
  """A config of a folder dataset: the bit depth of its PNG files (8 or 16)."""

  bits: int = 8

  @property
  def dtype(self):
    return np.uint16 if self.bits == 16 else np.uint8


EIGHT_BIT = BitDepthConfig(name="8bit", description="8-bit PNG files.", bits=8)


class FolderBuilder(storage.ArrayRecordBuilder, skip_registration=True):
  """Builds splits of scenes from folders under `manual_dir/<ROOT>` (or `manual_dir` itself)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release."}
  BUILDER_CONFIGS = [EIGHT_BIT]
  ROOT: str  # folder of the dataset inside the manual dir, e.g. "DPDD"
  SPLIT_FOLDERS: Mapping[str, Mapping[str, str]]  # split -> feature -> folder under ROOT
  SPLIT_SIZES: Mapping[str, int | None]  # published example count per split (None: not checked)
  # A feature whose folder holds one subfolder per scene, each image of which is an example with
  # the scene's other files (LFDOF's defocused images); None: every folder holds one file per scene.
  STACKED: str | None = None
  HOMEPAGE: str = ""
  CITATION: str = ""

  def __init__(self, *, allow_partial: bool = False, max_pixels: int = images.MAX_PIXELS, **kwargs):
    """`allow_partial=True` accepts splits with fewer scenes than published (to build a subset);
    a file declaring more than `max_pixels` pixels stops the build, naming it."""
    self._allow_partial, self._max_pixels = allow_partial, max_pixels
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    image = tfds.features.Image(shape=(None, None, 3), dtype=self.builder_config.dtype)
    features = sorted({f for split in self.SPLIT_FOLDERS.values() for f in split})
    return self.dataset_info_from_configs(
      features=tfds.features.FeaturesDict({**{f: image for f in features}, "name": tfds.features.Text()}),
      homepage=self.HOMEPAGE,
      citation=self.CITATION,
      disable_shuffling=True,
    )  # keep file order: evaluation reports images in it

  def _root(self, dl_manager) -> epath.Path:
    manual = epath.Path(dl_manager.manual_dir)
    nested = manual / self.ROOT
    if nested.is_dir():
      return nested
    first_folder = next(iter(next(iter(self.SPLIT_FOLDERS.values())).values()))
    if (manual / first_folder).is_dir():
      return manual
    raise FileNotFoundError(
      f"missing folder {nested} (nor {manual / first_folder}). Expected layout:\n{self.MANUAL_DOWNLOAD_INSTRUCTIONS}"
    )

  def _split_generators(self, dl_manager):
    root = self._root(dl_manager)
    scenes = {}
    for split, split_folders in self.SPLIT_FOLDERS.items():
      scenes[split] = self._scenes(root, split_folders)
      first_folder = root / next(iter(split_folders.values()))
      folders.check_count(scenes[split], self.SPLIT_SIZES.get(split), first_folder, self._allow_partial)
    return {split: self._generate_examples(found) for split, found in scenes.items()}

  def _scenes(self, root: epath.Path, split_folders: Mapping[str, str]) -> list[folders.SceneFiles]:
    """The examples of one split: its folders' files paired by name."""
    if self.STACKED:
      return folders.pair_stacked_scenes(root, split_folders, self.STACKED)
    return folders.pair_scenes(root, split_folders)

  def _generate_examples(self, scenes):
    dtype = self.builder_config.dtype
    for scene in scenes:
      yield scene.name, {**folders.load_scene(scene, dtype, max_pixels=self._max_pixels), "name": scene.name}
