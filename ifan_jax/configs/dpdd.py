"""The reference recipe on DPDD (8-bit, single image): 600k steps of batch 8, 256x256 crops.

Build the dataset once (docs/training.md), then:

  python -m ifan_jax.train --config configs/dpdd.py --workdir runs/dpdd \
      --config.data_dir=$HOME/tensorflow_datasets

Paper, DPDD test: 25.37 dB PSNR (evaluate with `python -m ifan_jax.eval`). Every knob, with
what it does: ifan_jax/training/config.py.
"""

from ifan_jax.training.config import default_config


def get_config():
  config = default_config()
  config.dataset = "dpdd"
  return config
