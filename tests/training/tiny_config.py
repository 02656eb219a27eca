"""The default training config shrunk to seconds for tests: a 4-channel IFAN, 32x32 crops, global batch 4.

Loadable as `--config tests/training/tiny_config.py` by processes that tests start.
"""

from ifan_jax.training.default_config import default_config


def get_config():
  config = default_config()
  config.model.update(channels=4, iterations=2, res_num=1, reblur_iterations=2)
  config.update(
    dataset="fake",
    crop_size=32,
    batch_size=4,
    total_steps=4,
    log_every_steps=1,
    eval_every_steps=2,
    checkpoint_every_steps=2,
    learning_rate=1e-3,
    num_image_summaries=1,
  )
  return config
