"""`python -m ifan_jax.train`, same flags, on tests/training/fake_data.py: for tests that need processes.

Run as `python -m tests.training.train_on_fake_data FLAGS...` from the repository root.
"""

import functools

from absl import app

from ifan_jax import train
from tests.training import fake_data

if __name__ == "__main__":
  train.define_flags()
  app.run(functools.partial(train.main, datasets=fake_data.FakeDatasets()))
