"""Builds one of ifan_jax's TFDS datasets as array_record, without `tfds build` (which needs apache_beam).

python -m ifan_jax.data.build dpdd --manual_dir ~/datasets [--config 16bit] [--data_dir DIR]
python -m ifan_jax.data.build synthetic_dp [--config tiny]
python -m ifan_jax.data.build pairs --manual_dir ~/my_photos --config my_photos   # your own photos
"""

import functools

import tensorflow_datasets as tfds
from absl import app, flags, logging

from ifan_jax.data import registry, storage
from ifan_jax.io import paths


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


def build(
  name: str, *, manual_dir: str | None, data_dir: str | None, config: str | None = None, allow_partial: bool = False
) -> tfds.core.DatasetBuilder:
  """Builds dataset `name` (config `config`) from `manual_dir` into `data_dir`; returns its builder.

  Relative folders (and `~`) are resolved here, once, so that they mean what they meant to the caller.
  """
  manual_dir, data_dir = paths.absolute_str(manual_dir), paths.absolute_str(data_dir)
  entry = registry.entry(name)
  if not entry.generated and not manual_dir:
    layout = entry.builder_class().MANUAL_DOWNLOAD_INSTRUCTIONS
    raise ValueError(f"{name} is built from its download: pass --manual_dir. Expected layout:\n{layout}")
  if entry.user_named and not config:
    raise ValueError(f"{name} needs your dataset's name: pass --config NAME (then use it as {name}/NAME).")
  kwargs = {} if entry.generated else {"allow_partial": allow_partial}
  if entry.user_named:  # its layout is read off the folder
    kwargs["manual_dir"] = manual_dir
  open_builder = functools.partial(tfds.builder, name, config=config, data_dir=data_dir, **kwargs)
  builder = open_builder()
  builder = storage.prepare_once(
    builder, open_builder, download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
  )
  logging.info(
    "Built %s in %s: %s",
    builder.info.full_name,
    builder.data_dir,
    {split: info.num_examples for split, info in builder.info.splits.items()},
  )
  return builder


def main(argv):
  if len(argv) > 2:
    raise app.UsageError(f"unexpected arguments: {argv[2:]}")
  options = flags.FLAGS
  name = argv[1] if len(argv) == 2 else options.name
  if name not in registry.NAMES:
    raise app.UsageError(f"give a dataset name, one of {', '.join(registry.NAMES)} (got {name!r}).")
  try:
    build(
      name,
      manual_dir=options.manual_dir,
      data_dir=options.data_dir,
      config=options.config,
      allow_partial=options.allow_partial,
    )
  except ValueError as e:  # A missing --manual_dir, or a layout check: the message names the file and the fix.
    raise app.UsageError(str(e)) from None


if __name__ == "__main__":
  define_flags()
  app.run(main)
