"""Scenes of a dataset stored as folders of images in its official layout, validated before building.

A scene is one file per folder (blurred, left, right, sharp, ...). Files pair up by name across
folders, ignoring a trailing view suffix (`_L`, `_R`, `_C`), so `0001.png` in the left and right
folders belong to the same scene as `0001.png` of the blurred one. Every check raises ValueError or
FileNotFoundError naming the offending file or folder.
"""

import dataclasses
import re
from collections.abc import Mapping

import numpy as np
from etils import epath

from ifan_jax.io import images

_VIEW_SUFFIX = re.compile(r"_(l|r|c)$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class SceneFiles:
  """One scene: its name and the file of each feature (e.g. {'blurred': ..., 'sharp': ...})."""

  name: str
  files: Mapping[str, epath.Path]


def image_paths(folder: epath.Path) -> list[epath.Path]:
  """The image files of `folder` (see `ifan_jax.io.images.image_files`), as paths."""
  return [epath.Path(p) for p in images.image_files(folder)]


def scene_name(path: epath.Path) -> str:
  """The name a file contributes to its scene: its stem without a trailing `_L`/`_R`/`_C`."""
  return _VIEW_SUFFIX.sub("", path.stem)


def _by_name(folder: epath.Path) -> dict[str, epath.Path]:
  named = {}
  for path in image_paths(folder):
    name = scene_name(path)
    if name in named:
      raise ValueError(
        f"{path} and {named[name]} belong to the same scene {name!r}; expected one file per scene in each folder."
      )
    named[name] = path
  return named


def pair_scenes(root: epath.Path, folders: Mapping[str, str]) -> list[SceneFiles]:
  """Pairs the files of `folders` (feature -> folder relative to `root`) into scenes sorted by name.

  Raises when a folder is missing or a file has no partner with the same name in another folder.
  """
  named = {feature: _by_name(root / folder) for feature, folder in folders.items()}
  all_names = sorted(set().union(*named.values()))
  for feature, files in named.items():
    for name in all_names:
      if name not in files:
        partner = next(f[name] for f in named.values() if name in f)
        raise ValueError(f"{partner} has no partner named {name!r} in {root / folders[feature]}.")
  return [SceneFiles(name, {feature: named[feature][name] for feature in folders}) for name in all_names]


def pair_stacked_scenes(root: epath.Path, folders: Mapping[str, str], stacked: str) -> list[SceneFiles]:
  """Pairs a split whose `stacked` folder holds one subfolder per scene, each image of which is an example.

  (LFDOF: `input/<scene>/*.png` are several defocused images of the scene, `ground_truth/<scene>.png` its
  one all-in-focus image.) The subfolders pair by name with the files of the other folders; an example
  is named `<scene>/<stem>` and holds one image of the stack and the scene's other files. Raises when
  a folder is missing, a subfolder holds no image, or a scene has no partner.
  """
  stack_root = root / folders[stacked]
  if not stack_root.is_dir():
    raise FileNotFoundError(f"missing folder {stack_root}")
  stacks = {p.name: p for p in sorted(stack_root.iterdir()) if p.is_dir() and not p.name.startswith(".")}
  named = {feature: _by_name(root / folder) for feature, folder in folders.items() if feature != stacked}
  for feature, files in named.items():
    for name in sorted(set(stacks) ^ set(files)):
      where, partner = (root / folders[feature], stacks[name]) if name in stacks else (stack_root, files[name])
      raise ValueError(f"{partner} has no partner named {name!r} in {where}.")
  scenes = []
  for name, folder in stacks.items():
    others = {feature: files[name] for feature, files in named.items()}
    scenes += [SceneFiles(f"{name}/{path.stem}", {stacked: path, **others}) for path in image_paths(folder)]
  return scenes


def check_count(scenes: list[SceneFiles], expected: int | None, where: epath.Path, allow_partial: bool):
  """Checks that a split has its published number of scenes (unless `allow_partial`)."""
  if expected is None or len(scenes) == expected:
    return
  if allow_partial and len(scenes) < expected:
    return
  raise ValueError(
    f"{where}: found {len(scenes)} scenes, the published split has {expected}. "
    "Pass allow_partial=True (--allow_partial) to build a subset on purpose."
  )


def load_scene(
  scene: SceneFiles, dtype: type, *, depth_of: epath.Path | None = None, max_pixels: int = images.MAX_PIXELS
) -> dict[str, bytes]:
  """Reads every file of `scene` and returns PNG bytes per feature, ready for a TFDS image feature.

  Checks that each file decodes completely, has `dtype` pixels (uint8 or uint16) and the same size
  as the scene's other files. RGB PNGs are passed through byte for byte; anything else (JPEG, grey,
  RGBA) is re-encoded as an RGB PNG. `depth_of`: the file whose bit depth set `dtype` (a dataset
  whose depth is read off its files), named by the error. `max_pixels`: see `images.decode_pixels`.
  """
  encoded, sizes = {}, {}
  for feature, path in scene.files.items():
    try:
      data = path.read_bytes()
    except OSError as e:
      raise ValueError(f"{path}: cannot read the file ({e}).") from e
    image = images.decode_rgb(data, str(path), max_pixels=max_pixels)
    if image.dtype != dtype and depth_of is not None:
      raise ValueError(
        f"{path}: has {image.dtype} pixels, but {depth_of} has {np.dtype(dtype)}: the images of a dataset share "
        "one bit depth (convert the odd ones)."
      )
    if image.dtype != dtype:
      raise ValueError(f"{path}: has {image.dtype} pixels, this dataset config expects {np.dtype(dtype)}.")
    sizes[path] = image.shape[:2]
    keep = path.suffix.lower() == ".png" and images.is_rgb_png(data)
    encoded[feature] = data if keep else images.encode_png(image)
  (first, size), *others = sizes.items()
  for path, other in others:
    if other != size:
      raise ValueError(
        f"{path}: is {other[0]}x{other[1]}, but {first.name} of the same scene {scene.name!r} is {size[0]}x{size[1]}."
      )
  return encoded
