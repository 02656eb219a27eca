"""`python -m ifan_jax.train`, same flags, on tests/fake_data.py: for tests that need whole processes."""

import functools
import pathlib
import sys

from absl import app

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import fake_data  # pylint: disable=wrong-import-position
from ifan_jax import train  # pylint: disable=wrong-import-position

if __name__ == "__main__":
  app.run(functools.partial(train.main, datasets=fake_data.FakeDatasets()))
