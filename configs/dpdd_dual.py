"""The reference recipe for the dual-pixel IFAN (the filter encoder reads both views) on DPDD.

  python -m ifan_jax.train --config configs/dpdd_dual.py --workdir /tmp/ifan_dpdd_dual \
      --config.data_dir=$HOME/tensorflow_datasets
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import dpdd  # pylint: disable=wrong-import-position


def get_config():
  config = dpdd.get_config()
  config.model.dual_pixel = True
  return config
