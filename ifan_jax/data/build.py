"""Builds one of ifan_jax's TFDS datasets as array_record, without `tfds build` (which needs apache_beam).

python -m ifan_jax.data.build dpdd --manual_dir ~/datasets [--config 16bit] [--data_dir DIR]
python -m ifan_jax.data.build synthetic_dp [--config tiny]
python -m ifan_jax.data.build pairs --manual_dir ~/my_photos --config my_photos   # your own photos

A dataset already built is kept as it is; building pairs/NAME again from a folder whose images changed
is refused (the dataset records what it was built from) until --overwrite rebuilds it.
"""

import functools

import tensorflow_datasets as tfds
from absl import app, flags, logging
from etils import epath

from ifan_jax import commands
from ifan_jax.data import built_from, registry, storage
from ifan_jax.io import images, paths


def define_flags():
  """Defines the command's flags on `flags.FLAGS`: only when run, so importing it clashes with no program."""
  flags.DEFINE_enum("name", None, registry.NAMES, "Dataset to build (or the first argument).")
  flags.DEFINE_string(
    "manual_dir",
    None,
    "Folder holding the manual download (see the dataset's layout in docs/datasets.md); not needed for synthetic_dp.",
  )
  flags.DEFINE_string(
    "data_dir", None, "Where TFDS datasets live (default: TFDS's, ~/tensorflow_datasets or $TFDS_DATA_DIR)."
  )
  flags.DEFINE_string(
    "config",
    None,
    "Builder config, e.g. 8bit or 16bit for dpdd, tiny for synthetic_dp; for pairs, your dataset's name.",
  )
  flags.DEFINE_bool(
    "allow_partial", False, "Accept splits with fewer scenes than published (to build a subset on purpose)."
  )
  flags.DEFINE_bool(
    "overwrite", False, "Build again a dataset already built (the old one is replaced only once the new one is built)."
  )
  flags.DEFINE_integer(
    "max_pixels", images.MAX_PIXELS, "Largest image file read, in pixels (checked in its header).", lower_bound=1
  )


def build(
  name: str,
  *,
  manual_dir: str | None,
  data_dir: str | None,
  config: str | None = None,
  allow_partial: bool = False,
  overwrite: bool = False,
  max_pixels: int = images.MAX_PIXELS,
) -> tfds.core.DatasetBuilder:
  """Builds dataset `name` (config `config`) from `manual_dir` into `data_dir`; returns its builder.

  Relative folders (and `~`) are resolved here, once, so that they mean what they meant to the caller.
  A dataset already built is kept, unless `overwrite`; a user-named one (pairs/NAME) whose folder
  changed since is refused with a ValueError naming what changed.
  """
  manual_dir, data_dir = paths.absolute_str(manual_dir), paths.absolute_str(data_dir)
  entry = registry.entry(name)
  if not entry.generated and not manual_dir:
    layout = entry.builder_class().MANUAL_DOWNLOAD_INSTRUCTIONS
    raise ValueError(f"{name} is built from its download: pass --manual_dir. Expected layout:\n{layout}")
  if entry.user_named:
    if not config:
      raise ValueError(f"{name} needs your dataset's name: pass --config NAME (then use it as {name}/NAME).")
    entry.builder_class().check_name(config)
  kwargs = {} if entry.generated else {"allow_partial": allow_partial, "max_pixels": max_pixels}
  if entry.user_named:  # its layout is read off the folder
    kwargs["manual_dir"] = manual_dir
  open_builder = functools.partial(tfds.builder, name, config=config, data_dir=data_dir, **kwargs)
  builder = open_builder()
  folder = built_from.describe(manual_dir) if entry.user_named else None
  building = overwrite or not builder.is_prepared()
  if folder and not building:
    _check_unchanged(builder, folder)
  builder = storage.prepare_once(
    builder, open_builder, download_config=tfds.download.DownloadConfig(manual_dir=manual_dir), overwrite=overwrite
  )
  if folder and building:
    built_from.record(epath.Path(builder.data_path), folder)
  logging.info(
    "Built %s in %s: %s",
    builder.info.full_name,
    builder.data_dir,
    {split: info.num_examples for split, info in builder.info.splits.items()},
  )
  return builder


def _check_unchanged(builder, folder: dict):
  """Refuses to keep a built user-named dataset whose folder changed since (a ValueError naming how)."""
  before = built_from.recorded(epath.Path(builder.data_path))
  name = builder.info.full_name
  if before is None:
    logging.warning(
      "%s was built before ifan_jax recorded what a dataset is built from: it is kept as it is; pass "
      "--overwrite to build it again from %s.",
      name,
      folder["folder"],
    )
    return
  changes = built_from.differences(before, folder)
  if changes:
    raise ValueError(
      f"{name} (in {builder.data_dir}) was built from {before['folder']}, and the images of {folder['folder']} "
      f"differ from those: {'; '.join(changes)}. Pass --overwrite to build it again from {folder['folder']}, or "
      "give another --config NAME to build a dataset beside it."
    )


def main(argv):
  if len(argv) > 2:
    raise app.UsageError(f"unexpected arguments: {argv[2:]}")
  options = flags.FLAGS
  name = argv[1] if len(argv) == 2 else options.name
  if name not in registry.NAMES:
    raise app.UsageError(f"give a dataset name, one of {', '.join(registry.NAMES)} (got {name!r}).")
  build(
    name,
    manual_dir=options.manual_dir,
    data_dir=options.data_dir,
    config=options.config,
    allow_partial=options.allow_partial,
    overwrite=options.overwrite,
    max_pixels=options.max_pixels,
  )


if __name__ == "__main__":
  define_flags()
  commands.run(main, "ifan_jax.data.build")
