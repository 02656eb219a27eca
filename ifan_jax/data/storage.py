"""How ifan_jax's TFDS builders store examples: array_record, which needs no TensorFlow.

TFDS defaults to tfrecord, whose writer imports TensorFlow. array_record is written without it and
is what `tfds.data_source` / `builder.as_data_source()` (and grain on top of them) read by index, so
plain TFDS calls (`tfds.builder(name).download_and_prepare(...)`) work on a machine without TensorFlow.
"""

import tensorflow_datasets as tfds

FILE_FORMAT = "array_record"


class ArrayRecordBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """A builder that writes array_record unless the caller passes `file_format`.

  A dataset already prepared in another format (say tfrecord, by a TFDS with TensorFlow) is read as it is.
  """

  def __init__(self, *, file_format=None, **kwargs):
    super().__init__(file_format=file_format, **kwargs)
    if file_format is None and not self.info.initialized:  # nothing restored from a prepared dataset
      self.info.set_file_format(FILE_FORMAT, override=True)
