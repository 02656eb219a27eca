"""The reference recipe for the dual-pixel IFAN (the filter encoder reads both views) on DPDD.

  python -m ifan_jax.train --config configs/dpdd_dual.py --workdir runs/dpdd_dual \
      --config.data_dir=$HOME/tensorflow_datasets
"""

from ifan_jax.training.default_config import default_config, with_variant


def get_config(variant=""):
  config = default_config()
  config.dataset = "dpdd"
  config.model.dual_pixel = True
  return with_variant(config, variant)
