"""The reference recipe on DPDD (8-bit, single image): 600k steps of batch 8, 256x256 crops.

Build the dataset once (docs/training.md), then:

  python -m ifan_jax.train --config configs/dpdd.py --workdir /tmp/ifan_dpdd \
      --config.data_dir=$HOME/tensorflow_datasets

Paper, DPDD test: 25.37 dB PSNR (evaluate with `python -m ifan_jax.eval`).
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import default  # pylint: disable=wrong-import-position


def get_config():
  config = default.get_config()
  config.dataset = "dpdd"
  return config
