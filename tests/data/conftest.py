"""Fixtures of the data tests: a tiny synthetic_dp build shared by the tests of one worker."""

import pytest

from ifan_jax.data import pipeline


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory) -> str:
  """A data_dir holding `synthetic_dp/tiny` (64x96 images, 8 train / 4 validation / 4 test)."""
  data_dir = str(tmp_path_factory.mktemp("tfds"))
  pipeline.ensure_built("synthetic_dp/tiny", data_dir)
  return data_dir
