"""The reference recipe on the 16-bit DPDD images (`dpdd/16bit`; inputs still scaled to [0, 1]).

  python -m ifan_jax.train --config configs/dpdd_16bit.py --workdir /tmp/ifan_dpdd_16bit \
      --config.data_dir=$HOME/tensorflow_datasets
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import dpdd  # pylint: disable=wrong-import-position


def get_config():
  config = dpdd.get_config()
  config.dataset = "dpdd/16bit"
  config.model.in_bit = 16
  return config
