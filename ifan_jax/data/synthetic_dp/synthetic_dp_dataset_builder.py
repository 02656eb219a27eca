"""TFDS builder of the synthetic dual-pixel defocus dataset (the project's default data).

Every example is rendered from its own seed, in worker threads (NumPy and OpenCV release the GIL
in the heavy work), so a build is reproducible and its result does not depend on the number of
workers. See README.md beside this file.
"""

import concurrent.futures
import dataclasses
import os

import numpy as np
import tensorflow_datasets as tfds

from ifan_jax.data import storage
from ifan_jax.data.synthetic_dp import scenes
from ifan_jax.geometry import SIZE_MULTIPLE
from ifan_jax.io import images

SPLITS = scenes.SPLITS
FEATURES = ("blurred", "left", "right", "sharp")


@dataclasses.dataclass
class SyntheticDPConfig(tfds.core.BuilderConfig):
  """Image size, examples per split, base seed and the ranges scenes are drawn from."""

  height: int = 384
  width: int = 512
  num_train: int = 200
  num_validation: int = 20
  num_test: int = 20
  seed: int = 0
  scene: scenes.SceneConfig = scenes.SceneConfig()

  def __post_init__(self):
    if self.height % SIZE_MULTIPLE or self.width % SIZE_MULTIPLE or min(self.height, self.width) < 2 * SIZE_MULTIPLE:
      raise ValueError(
        f"synthetic_dp image size {self.height}x{self.width} must be at least {2 * SIZE_MULTIPLE}x{2 * SIZE_MULTIPLE} "
        f"and a multiple of {SIZE_MULTIPLE}."
      )

  def split_size(self, split: str) -> int:
    return {"train": self.num_train, "validation": self.num_validation, "test": self.num_test}[split]


DEFAULT = SyntheticDPConfig(
  name="default", description="384x512 images, whole frames, blurs up to 8 pixels; 200 train, 20 validation, 20 test."
)
PHYSICAL = SyntheticDPConfig(
  name="physical",
  description="As default, but blurred in linear light and 384x512 "
  "windows of a frame 1680 pixels wide: DPDD's blur sizes; harder.",
  scene=scenes.SceneConfig(sensor_width_px=1680, max_coc=32.0, blur_in_linear_light=True),
)
TINY = SyntheticDPConfig(
  name="tiny",
  description="64x96 images, 8/4/4 examples: for tests.",
  height=64,
  width=96,
  num_train=8,
  num_validation=4,
  num_test=4,
)


def render_png(task: tuple[int, str, int, int, int, scenes.SceneConfig]) -> dict[str, bytes]:
  """Renders one example, `(seed, split, example index, height, width, scene config)`, to PNGs."""
  rendered = scenes.render_example(*task)
  return {name: images.encode_png(rendered[name]) for name in FEATURES}


class Builder(storage.ArrayRecordBuilder):
  """Synthetic dual-pixel defocus: blurred, left, right and sharp uint8 images per example."""

  VERSION = tfds.core.Version("2.0.0")
  RELEASE_NOTES = {
    "1.0.0": "First release.",
    "1.1.0": "Every scene has an object in front of the background: fewer scenes entirely in focus.",
    "1.2.0": "default: whole frames 512 pixels wide, sRGB values blurred, scenes within 40 dB "
    "of sharp redrawn; the former camera model is config physical.",
    "1.3.0": "default and tiny clip circles of confusion at 8 pixels instead of 32 (physical keeps 32).",
    "2.0.0": "Validation and test are textured only with photographs and pattern families that the "
    "training split never uses (validation: grace_hopper, retina, page, horse, polygon "
    "leaves, scribbles; test: coffee, cell, logo, colorwheel, mosaics, rings), so their "
    "PSNR measures unseen images; coffee leaves the training photographs. Each example "
    "draws its layout (depths, shapes, lens) and its textures from two separate seed "
    "streams. Training adds text, foliage and dead leaves of more scales. Photographs are "
    "never upsampled: windows from 1:1 to the whole photograph, small ones mirrored out.",
  }
  BUILDER_CONFIGS = [DEFAULT, PHYSICAL, TINY]

  def __init__(self, *, num_workers: int | None = None, **kwargs):
    """`num_workers`: rendering threads (default: one per CPU)."""
    self._num_workers = max(1, num_workers or os.cpu_count())
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config
    image = tfds.features.Image(shape=(config.height, config.width, 3), dtype=np.uint8)
    return self.dataset_info_from_configs(
      features=tfds.features.FeaturesDict({**{f: image for f in FEATURES}, "name": tfds.features.Text()}),
      homepage="https://github.com/codeslake/IFAN",
      disable_shuffling=True,
    )  # examples in index order, like the folder datasets

  def _split_generators(self, dl_manager):
    del dl_manager  # nothing to download
    return {split: self._generate_examples(split) for split in SPLITS}

  def _generate_examples(self, split: str):
    config = self.builder_config
    tasks = [
      (config.seed, split, i, config.height, config.width, config.scene) for i in range(config.split_size(split))
    ]
    names = [f"{split}_{i:05d}" for i in range(len(tasks))]
    with concurrent.futures.ThreadPoolExecutor(self._num_workers) as pool:
      for name, example in zip(names, pool.map(render_png, tasks)):
        yield name, {**example, "name": name}
