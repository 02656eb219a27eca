"""The reference recipe on the 16-bit DPDD images (`dpdd/16bit`; inputs still scaled to [0, 1]).

  python -m ifan_jax.train --config configs/dpdd_16bit.py --workdir runs/dpdd_16bit \
      --config.data_dir=$HOME/tensorflow_datasets
"""

from ifan_jax.training.default_config import default_config, with_variant


def get_config(variant=""):
  config = default_config()
  config.dataset = "dpdd/16bit"
  config.model.in_bit = 16
  return with_variant(config, variant)
