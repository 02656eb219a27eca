"""Writes small fake copies of the official dataset layouts: the builders' `dummy_data/` and test fixtures.

  python -m ifan_jax.data.dummy_data   # regenerates ifan_jax/data/<name>/dummy_data/ for every folder dataset

Images are random noise, a few pixels across, so the folders stay tiny; every scene of a split has a
distinct name and all of its files the same size.
"""

import numpy as np
from absl import app
from etils import epath

from ifan_jax.data import folder_builder, registry
from ifan_jax.io import images

# The datasets that come as folders of images, from the registry.
FOLDER_BUILDERS = {
  entry.name: entry.builder_class()
  for entry in registry.ENTRIES
  if issubclass(entry.builder_class(), folder_builder.FolderBuilder)
}
SCENES_PER_SPLIT = 2


def write_pixels(path: epath.Path, image: np.ndarray):
  """Writes RGB `[H, W, 3]` uint8/uint16 (or grey `[H, W]`) to `path`, in the format its suffix names."""
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_bytes(images.encode_pixels(images.image_format(path), image, name=str(path)))


def random_image(rng: np.random.Generator, height: int, width: int, bits: int = 8) -> np.ndarray:
  dtype = np.uint16 if bits == 16 else np.uint8
  return rng.integers(0, np.iinfo(dtype).max, (height, width, 3), endpoint=True).astype(dtype)


def write_layout(
  builder_cls: type[folder_builder.FolderBuilder],
  manual_dir,
  *,
  scenes: int = SCENES_PER_SPLIT,
  height: int = 20,
  width: int = 28,
  bits: int = 8,
  seed: int = 0,
) -> epath.Path:
  """Writes `scenes` scenes per split in `builder_cls`'s layout under `manual_dir/<ROOT>`; returns that root.

  Scene `i` of a split is named `<split>_<i>`; a file in a `*_l` or `*_r` folder carries the `_L`/`_R`
  suffix some releases use, to exercise the pairing by name. The folder of a `STACKED` feature gets a
  subfolder per scene holding two images, `<scene>_00.png` and `<scene>_01.png`.
  """
  rng = np.random.default_rng(seed)
  root = (epath.Path(manual_dir) / builder_cls.ROOT).resolve()
  for split, split_folders in builder_cls.SPLIT_FOLDERS.items():
    for i in range(scenes):
      for feature, folder in split_folders.items():
        view = folder.split("/")[0]
        suffix = {"_l": "_L", "_r": "_R"}.get(view[-2:], "")
        name = f"{split}_{i}"
        files = [f"{name}/{name}_{k:02d}" for k in range(2)] if feature == builder_cls.STACKED else [name + suffix]
        for file in files:
          write_pixels(root / folder / f"{file}.png", random_image(rng, height, width, bits))
  return root


def main(argv):
  del argv
  here = epath.Path(__file__).parent
  for name, builder_cls in FOLDER_BUILDERS.items():
    target = here / name / "dummy_data"
    if target.exists():
      target.rmtree()
    write_layout(builder_cls, target)
    print(f"wrote {target}")


if __name__ == "__main__":
  app.run(main)
