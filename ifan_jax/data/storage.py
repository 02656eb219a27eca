"""How ifan_jax's TFDS datasets are written: as array_record, by one process at a time.

TFDS defaults to tfrecord, whose writer imports TensorFlow. array_record is written without it and
is what `tfds.data_source` / `builder.as_data_source()` (and grain on top of them) read by index, so
plain TFDS calls (`tfds.builder(name).download_and_prepare(...)`) work on a machine without TensorFlow.
"""

import uuid

import tensorflow_datasets as tfds
from absl import logging
from etils import epath

from ifan_jax.io import locks, paths

FILE_FORMAT = "array_record"
BUILD_WAIT_SECONDS = 4 * 3600  # how long to wait for another process's build (a full render takes minutes)


class ArrayRecordBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """A builder that writes array_record unless the caller passes `file_format`.

  A dataset already prepared in another format (say tfrecord, by a TFDS with TensorFlow) is read as it is.
  """

  def __init__(self, *, file_format=None, **kwargs):
    super().__init__(file_format=file_format, **kwargs)
    if file_format is None and not self.info.initialized:  # nothing restored from a prepared dataset
      self.info.set_file_format(FILE_FORMAT, override=True)


def prepare_once(
  builder: tfds.core.DatasetBuilder, reopen, *, download_config=None, overwrite=False
) -> tfds.core.DatasetBuilder:
  """Prepares `builder`'s dataset (if not yet, or again if `overwrite`) holding a lock file beside its
  folder; returns a builder of it.

  Without the lock, every process of a multi-host run (or two programs) on a fresh data_dir builds,
  and all but the first fail to rename their copy into place. `reopen(**kwargs)` makes a new builder of
  the same dataset, for when another process built it meanwhile (`builder`'s info predates that build).
  """
  if builder.is_prepared() and not overwrite:
    return builder
  name = builder.info.full_name
  config_dir = builder.data_path.parent  # <data_dir>/<name>/<config>: the version folders go inside
  if not paths.is_local(config_dir):
    if overwrite:
      raise ValueError(f"--overwrite rebuilds datasets on a local data_dir only; {builder.data_dir} is not.")
    logging.warning(
      "Building %s into %s without a lock (not a local path): if several processes share it, "
      "build it once beforehand with python -m ifan_jax.data.build.",
      name,
      builder.data_dir,
    )
    builder.download_and_prepare(download_config=download_config)
    return builder
  lock = config_dir.parent / f"{config_dir.name}.build.lock"
  lock.parent.mkdir(parents=True, exist_ok=True)
  with locks.exclusive(lock, what=f"dataset {name} (its build)", wait_seconds=BUILD_WAIT_SECONDS):
    if overwrite and builder.is_prepared():
      _rebuild(builder, reopen, download_config)
      return reopen()
    if builder.is_prepared():
      logging.info("%s was built by another process, in %s.", name, builder.data_dir)
      return reopen()
    logging.info("Building %s into %s.", name, builder.data_dir)
    builder.download_and_prepare(download_config=download_config)
  return builder


def _rebuild(builder: tfds.core.DatasetBuilder, reopen, download_config):
  """Builds the dataset again in a folder of its own and puts it in place of the old one only once built:
  a failing rebuild leaves the old dataset as it was."""
  version_dir = epath.Path(builder.data_path)
  staging = version_dir.parent / f".{version_dir.name}.rebuild-{uuid.uuid4().hex[:8]}"
  try:
    logging.info("Building %s again, in %s.", builder.info.full_name, staging)
    fresh = reopen(data_dir=str(staging))
    fresh.download_and_prepare(download_config=download_config)
    replaced = staging / "replaced"
    version_dir.rename(replaced)
    epath.Path(fresh.data_path).rename(version_dir)
  finally:
    staging.rmtree(missing_ok=True)
