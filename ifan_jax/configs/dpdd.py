"""The reference recipe on DPDD (8-bit, single image): 600k steps of batch 8, 256x256 crops.

Build the dataset once (docs/training.md), then:

  python -m ifan_jax.train --config configs/dpdd.py --workdir runs/dpdd \
      --config.data_dir=$HOME/tensorflow_datasets

The paper's DPDD test scores are in ifan_jax/data/registry.py (`python -m ifan_jax.eval` prints them
beside yours). Every knob, with what it does: ifan_jax/training/default_config.py.
"""

from ifan_jax.training.default_config import default_config, with_variant


def get_config(variant=""):
  config = default_config()
  config.dataset = "dpdd"
  return with_variant(config, variant)
