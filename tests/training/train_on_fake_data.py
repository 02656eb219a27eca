"""`python -m ifan_jax.train`, same flags, on tests/training/fake_data.py: for tests that need processes.

Run as `python -m tests.training.train_on_fake_data FLAGS...` from the repository root.
"""

import functools

from ifan_jax import train
from tests.training import fake_data

if __name__ == "__main__":
  train.define_flags()
  train.run(functools.partial(train.main, datasets=fake_data.FakeDatasets()))
